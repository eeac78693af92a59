"""Work started now in a daemon thread and collected later, so it overlaps the network waits.

A check spends most of its wall time waiting on sockets; CPU work that is not on the path to the
first packet (parsing the knowledge base, importing the renderer) is started in the background
and joined when its result is needed. An exception is kept and raised by :meth:`result`, never
printed from the thread.
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, Optional, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """``fn()`` running in a daemon thread; :meth:`result` waits for it."""

    def __init__(self, fn: Callable[[], T], name: str = "background") -> None:
        self._fn = fn
        self._value: Optional[T] = None
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # kept for result(); a thread must not print it
            self._error = exc

    def result(self) -> T:
        """The value ``fn`` returned, or the exception it raised, raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]
