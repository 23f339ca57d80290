"""Console output for the long-running commands, as ``runserver`` speaks without a ``LOGGING`` setting."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

#: Django's ``--verbosity``: 0 errors and warnings, 1 start-up lines too, 2 and 3 debug messages.
LEVELS = {0: logging.WARNING, 1: logging.INFO}


def verbosity_level(verbosity: int) -> int:
    return LEVELS.get(verbosity, logging.DEBUG)


def log_to_console(loggers: dict[str, int], stream: SupportsWrite[str]) -> None:
    """Print each named logger's records from the given level on ``stream``, unless the site's logging does.

    A logger whose records already reach a handler (its own or an ancestor's, as ``LOGGING`` sets them
    up) is left alone; otherwise it gets a handler writing ``time level message`` lines.
    """
    for name, level in loggers.items():
        logger = logging.getLogger(name)
        if logger.hasHandlers():
            continue
        handler = logging.StreamHandler(stream)
        handler.setLevel(level)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > level:
            logger.setLevel(level)
