"""`python -m bot --role web|worker|scheduler|all`: parsing, what each role runs, and what its settings lack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.roles import PARTS, Part, Role, engine_runs_bots, parse_role, runs, warnings
from db.config import AppConfig

ROOT = Path(__file__).resolve().parents[1]


def test_the_role_defaults_to_all_and_takes_each_name():
    assert parse_role([]) is Role.ALL
    for role in Role:
        assert parse_role(["--role", role.value]) is role
        assert parse_role([f"--role={role.value}"]) is role


def test_a_wrong_role_ends_with_usage_and_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        parse_role(["--role", "webb"])
    assert e.value.code == 2
    assert "invalid choice: 'webb'" in capsys.readouterr().err


def test_every_part_runs_in_all_and_in_exactly_one_split_role():
    assert PARTS[Role.ALL] == frozenset(Part)
    split = [Role.WEB, Role.WORKER, Role.SCHEDULER]
    for part in set(Part) - {Part.OPS}:
        assert [r for r in split if runs(r, part)] == [next(r for r in split if part in PARTS[r])]
    assert all(runs(r, Part.OPS) for r in Role)
    assert runs(Role.WEB, Part.UPDATES) and not runs(Role.WORKER, Part.UPDATES)


def test_only_a_process_whose_own_engine_runs_the_candle_closes_keeps_bot_handles():
    """Where workers (a broker) or another process run the bots, the chat's engine takes each bot and paper venue
    as stored for every action (tests/test_control_elsewhere.py)."""
    alone, broker = AppConfig(BROKER_URL=""), AppConfig(BROKER_URL="nats://127.0.0.1:4222")
    assert engine_runs_bots(Role.ALL, alone) and engine_runs_bots(Role.WORKER, alone)
    assert not engine_runs_bots(Role.WEB, alone)
    assert not any(engine_runs_bots(role, broker) for role in Role)


def test_a_web_role_is_warned_about_what_breaks_replicas():
    polling = AppConfig(WEBHOOK_URL="", REDIS_URL="")
    webhook_alone = AppConfig(WEBHOOK_URL="https://x.example/hook", REDIS_URL="")
    shared = AppConfig(WEBHOOK_URL="https://x.example/hook", REDIS_URL="redis://127.0.0.1:6379/0")
    assert "exactly one" in warnings(Role.WEB, polling)[0]
    assert "only one replica" in warnings(Role.WEB, webhook_alone)[0]
    assert warnings(Role.WEB, shared) == []
    assert warnings(Role.ALL, polling) == [] and warnings(Role.WORKER, polling) == []


def test_python_m_bot_parses_the_role_before_anything_else(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "bot", "--role", "nope"], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert bad.returncode == 2 and "--role" in bad.stderr and "Traceback" not in bad.stderr
    helped = subprocess.run([sys.executable, "-m", "bot", "--help"], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert helped.returncode == 0 and "web,worker,scheduler,all" in helped.stdout


def test_the_scaled_compose_example_runs_2_web_3_workers_1_scheduler_on_one_broker():
    import yaml

    from tests.conftest import ROOT

    services = yaml.safe_load((ROOT / "docker-compose.scaled.yml").read_text())["services"]
    counts = {}
    for name, s in services.items():
        if s.get("command", [""])[0] == "python":
            role = parse_role(s["command"][3:])
            counts[role] = counts.get(role, 0) + s.get("deploy", {}).get("replicas", 1)
            assert s["environment"]["BROKER_URL"].startswith("nats://nats:4222/"), name
            assert s["environment"]["REDIS_URL"] and s["environment"]["DATABASE_URL"].startswith("postgres://")
    assert counts == {Role.WEB: 2, Role.WORKER: 3, Role.SCHEDULER: 1}
    assert services["web"]["environment"]["WEBHOOK_URL"] and {"postgres", "redis", "nats"} <= set(services)
