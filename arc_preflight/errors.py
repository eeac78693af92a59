"""The one family of errors that means "the input was bad": one line on stderr, exit code 3.

Every module that rejects what the user gave it (a flag, a config file, a log path, a catalogue
lookup, a proxy URL) raises a subclass of :class:`UserError`, and ``cli.main`` catches that one
class. Nothing needs re-wrapping on its way up, and anything that is *not* a ``UserError`` is, by
construction, an internal error.
"""


class UserError(Exception):
    """An expected problem with the user's input; shown as one line, exit code 3."""


class ConfigError(UserError, ValueError):
    """A setting from a flag, the environment or the TOML file cannot be used."""


class CatalogError(UserError, ValueError):
    """An unknown cloud or region, or a malformed endpoint catalogue."""


class ProxyConfigError(UserError, ValueError):
    """A proxy setting that cannot be used (``--proxy``, or the agent's own, which is reported)."""


class LogReadError(UserError):
    """A log given to ``diagnose`` cannot be read (missing, a directory, a device, corrupt)."""
