"""Logging for the process, with a filter that blanks known secrets and anything shaped like a bot token."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_TOKEN_SHAPE = re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b")


class RedactSecrets(logging.Filter):
    """Rewrites each record's message so no listed secret, and no bot-token-shaped text, survives."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = _TOKEN_SHAPE.sub("<redacted>", msg)
        for s in self._secrets:
            clean = clean.replace(s, "<redacted>")
        if clean != msg:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            text = str(record.exc_info[1])
            if _TOKEN_SHAPE.search(text) or any(s in text for s in self._secrets):
                record.exc_info = None
                record.exc_text = None
                record.msg = f"{record.msg} (exception details withheld: they contained a secret)"
        return True


# Loggers that print request headers (API keys, passphrases) at DEBUG: never below INFO, whatever the root level.
SECRET_BEARING_LOGGERS = ("ccxt", "ccxt.base.exchange", "aiohttp.client")


def cap_secret_bearing_loggers() -> None:
    for name in SECRET_BEARING_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.INFO:
            logger.setLevel(logging.INFO)


def setup_logging(secrets: Iterable[str] = (), level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    cap_secret_bearing_loggers()
