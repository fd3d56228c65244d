"""``VPSORG_LOG``: a readable stderr log of the library for quick debugging, asked for by the user.

A library prints nothing unasked (the package logger has a ``NullHandler``). Setting
``VPSORG_LOG=debug`` (or ``info``, ``warning``, ``error``) before the program starts is asking:
when the package is first imported, one stderr handler goes on the ``vpsorg_async`` logger at that
level, as ``OPENAI_LOG`` does for openai-python. Any other value is ignored, as there. The
variable is read once, at import; the application's own logging configuration is left alone
(records still propagate to it).
"""

from __future__ import annotations

import logging

__all__ = ["HANDLER_NAME", "LEVELS", "log_to_stderr"]

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
#: The name of the handler ``VPSORG_LOG`` adds (so that it is added once, and can be found).
HANDLER_NAME = "vpsorg_log"


def log_to_stderr(value: str | None) -> logging.Handler | None:
    """Add the stderr handler for ``value`` (a level name) to the package logger, once.

    Returns:
        The handler, or None when ``value`` names no level.
    """
    level = LEVELS.get((value or "").strip().lower())
    if level is None:
        return None
    logger = logging.getLogger("vpsorg_async")
    for handler in logger.handlers:
        if handler.get_name() == HANDLER_NAME:
            return handler
    handler = logging.StreamHandler()  # sys.stderr, looked up when the handler is made
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S"
        )
    )
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler
