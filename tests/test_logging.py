"""Logs for machines and people: LOG_FORMAT=json gives one JSON object a line, secrets blanked; the scheduler's
per-job lines stay below INFO."""

from __future__ import annotations

import json
import logging

from bot.logging_setup import setup_logging


def _restore(root_handlers, root_level):
    root = logging.getLogger()
    root.handlers[:] = root_handlers
    root.setLevel(root_level)


def test_json_lines_with_secrets_blanked_and_a_quiet_scheduler(capsys):
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging(secrets=["sup3rSecretKey"], fmt="json")
        logging.getLogger("engine.test").info("placed with key %s", "sup3rSecretKey")
        logging.getLogger("apscheduler.executors.default").info('Running job "candle 1m"')
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("engine.test").exception("failed")
    finally:
        _restore(*saved)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(r["level"], r["logger"]) for r in lines] == [("INFO", "engine.test"), ("ERROR", "engine.test")]
    assert lines[0]["msg"] == "placed with key <redacted>" and lines[0]["ts"].endswith("+00:00")
    assert "ValueError: boom" in lines[1]["exc"]
    assert "sup3rSecretKey" not in json.dumps(lines)
