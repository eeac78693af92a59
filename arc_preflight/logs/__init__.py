"""Reading what admins have (agent logs, console output, pasted text) into diagnoses.

Agent logs grow to gigabytes and almost every line is ``level=info``, so reading is built in
stages, one module each, one direction:

* :mod:`.inputs` opens a file or stdin (gzip, UTF-16, never a device) as a byte stream;
* :mod:`.prefilter` finds, at C speed, the few places where a knowledge-base pattern could
  match (a black box: literals in, offsets out);
* :mod:`.lines` parses one line: level, time, message, AZCM codes;
* :mod:`.scanner` cuts out the lines the prefilter hit and turns them into events;
* :mod:`.diagnose` aggregates events into diagnoses, each cause once, scoped to the latest
  connect attempt.
"""
