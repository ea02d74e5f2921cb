"""Loggers whose records are one line each, whatever users typed (ATTACKS K-03: log injection).

A user-supplied string (an e-mail, a host name, a file name, an exception message quoting them)
that reaches a log could hold CR/LF to forge a second log line, or ANSI escapes to rewrite a
terminal. Every labelhouse logger gets ``OneLine``: it escapes control characters in the
formatted message and folds a traceback into the same record as escaped text.
"""

from __future__ import annotations

import logging
import re
import traceback

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape(text: str) -> str:
    """``text`` with every control character written as a visible escape (``\\n``, ``\\x1b``)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class OneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            message += " | " + "".join(traceback.format_exception(*record.exc_info))
            record.exc_info = None
            record.exc_text = None
        record.msg = escape(message)
        record.args = None
        return True


def logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with the ``OneLine`` filter attached once."""
    log = logging.getLogger(name)
    if not any(isinstance(f, OneLine) for f in log.filters):
        log.addFilter(OneLine())
    return log
