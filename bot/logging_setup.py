"""Logging for the process, with a filter that blanks known secrets and anything shaped like a bot token.

Text for people by default; `LOG_FORMAT=json` writes one JSON object a line for log collectors. Either way the
secrets are blanked before formatting, and the scheduler's per-job lines are kept below the default level.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

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


# Loggers that say something on every job run or request (APScheduler: "Running job ..." twice per job, about 40
# lines a second on a fast replay): warnings and errors only.
CHATTY_LOGGERS = ("apscheduler.scheduler", "apscheduler.executors.default", "aiohttp.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
               "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(secrets: Iterable[str] = (), level: int = logging.INFO, fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    cap_secret_bearing_loggers()
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
