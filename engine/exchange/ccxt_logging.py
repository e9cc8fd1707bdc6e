"""Keep ccxt's debug request/response dumps (which carry API keys and passphrases in headers) out of the logs."""

from __future__ import annotations

import logging

CCXT_LOGGERS = ("ccxt", "ccxt.base.exchange", "ccxt.async_support.base.exchange")


class DropCcxtDebug(logging.Filter):
    """ccxt logs every request with its signed headers at DEBUG; nothing below INFO from ccxt may pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO


_FILTER = DropCcxtDebug()


def silence_ccxt_debug() -> None:
    """Idempotent; called when the gateway module is imported. A filter on the logger itself holds even when
    the application sets its root (or ccxt's) level to DEBUG."""
    for name in CCXT_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
