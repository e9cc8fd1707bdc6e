"""kill -9 loop on paper GRID and HYPERRSI bots (issue 16): a restart is invisible to a paper user.

Six SIGKILLs (five at random minutes, one right after the venue stored a fill the engine had not seen yet) end
with the venue (balances, positions, orders, trades, id sequences), the bots' orders, fills and positions equal to
an uninterrupted run's; every fill told once (duplicates counted and printed), and no storm of other notices.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
from collections import Counter
from decimal import Decimal

from engine.exchange.client_ids import parse_client_id
from tests.runtime_kit import run_child

MINUTES = 600
RANDOM_KILLS = 5


async def _run(db_url: str, data, state, kill_after: int | None = None) -> int:
    """One child run: to the end, until it kills itself (armed), or SIGKILLed once past minute `kill_after`."""
    return await run_child("tests.paper_kill_child", db_url, data, state, MINUTES, state=state, kill_after=kill_after)


def _same_books(got: list[dict], want: list[dict]) -> None:
    """The bots' Position rows agree exactly: the books are kept to the row's 18 decimals on every fill, so a
    restarted engine, which rebuilds them from the row, goes on from what an uninterrupted one holds."""
    keys = ("bot_id", "side", "size", "average_entry", "realized_pnl", "fees")
    assert [tuple(Decimal(p[k]) if k in ("realized_pnl", "fees") else p[k] for k in keys) for p in got] == \
        [tuple(Decimal(p[k]) if k in ("realized_pnl", "fees") else p[k] for k in keys) for p in want]


def _unnumbered(result: dict) -> dict:
    """The run with each client id's sequence number left out, and without the order rows that never reached the
    venue: a kill between writing an order's row and sending it uses up that number (the row is given up after its
    grace period and the order sent again under the next one), which changes no money and no order the venue holds."""
    def cid(c):
        p = parse_client_id(c or "")
        return c if p is None else f"{p.user_id}:{p.bot_id}:{p.role}:{p.level}"

    venues = {a: {"venue": v["venue"], "orders": sorted((cid(k), o) for k, o in v["orders"].items()),
                  "trades": [{**t, "client_order_id": cid(t["client_order_id"])} for t in v["trades"]]}
              for a, v in result["venues"].items()}
    orders = [{**o, "client_order_id": cid(o["client_order_id"])} for o in result["orders"]
              if o["exchange_order_id"] or o["status"] != "rejected"]
    return {"venues": venues, "orders": orders}


def _notices(result: dict) -> tuple[Counter, Counter]:
    """(notifications per fill's trade, notifications per kind other than fills)."""
    per_fill = Counter(n["dedup_key"] for n in result["notifications"] if n["dedup_key"].startswith("fill:"))
    others = Counter(n["kind"] for n in result["notifications"] if not n["dedup_key"].startswith("fill:"))
    return per_fill, others


async def test_kill_loop_on_paper_bots_ends_as_an_uninterrupted_run(db, db_templates, shared_data, tmp_path):
    ref_dir, run_dir = tmp_path / "ref", tmp_path / "killed"
    ref_dir.mkdir()
    run_dir.mkdir()
    ref_db = tmp_path / "reference.sqlite3"
    shutil.copyfile(db_templates["sqlite"], ref_db)
    assert await _run(f"sqlite://{ref_db}", shared_data, ref_dir) == 0
    reference = json.loads((ref_dir / "result.json").read_text())

    kills = sorted(random.sample(range(20, MINUTES - 80), RANDOM_KILLS))
    fill_kill_at, killed = None, 0
    for i, k in enumerate(kills):
        if i == 0:  # a run that dies between writing a market order's row and sending it
            (run_dir / "arm-send").touch()
            assert await _run(db.url, shared_data, run_dir) == -signal.SIGKILL
            assert not (run_dir / "arm-send").exists()
            killed += 1
        if i == 2:  # a run that dies right after the venue stored a fill of a bot
            (run_dir / "arm-fill").touch()
            assert await _run(db.url, shared_data, run_dir) == -signal.SIGKILL
            assert not (run_dir / "arm-fill").exists()
            fill_kill_at, killed = int((run_dir / "progress").read_text()), killed + 1
        done = int((run_dir / "progress").read_text()) if (run_dir / "progress").exists() else 0
        kills[i] = max(k, done + 3)  # every run gets somewhere before it dies
        await _run(db.url, shared_data, run_dir, kill_after=kills[i])
        killed += 1
    assert killed == RANDOM_KILLS + 2
    assert await _run(db.url, shared_data, run_dir) == 0
    result = json.loads((run_dir / "result.json").read_text())

    per_fill, others = _notices(result)
    ref_fill, ref_others = _notices(reference)
    trades = [t for v in result["venues"].values() for t in v["trades"] if t["client_order_id"]]
    keys = {f"fill:{f['account_id']}:{f['trade_id']}" for f in result["fills"]}
    duplicates = sum(n - 1 for n in per_fill.values() if n > 1)
    missing = len(keys - set(per_fill))
    print(f"\n[{db.dialect}] kills at minutes {kills} and right after a fill at minute {fill_kill_at}: "
          f"{len(trades)} fills, {len(per_fill)} told, {duplicates} told twice, {missing} never told; "
          f"other notices {dict(others)} (uninterrupted: {dict(ref_others)})")

    got, want = _unnumbered(result), _unnumbered(reference)
    assert got["venues"] == want["venues"]  # balances, positions, orders, trades, the venue's id sequences
    assert got["orders"] == want["orders"]
    assert result["fills"] == reference["fills"]
    _same_books(result["positions"], reference["positions"])
    assert len(trades) >= 10, f"too little happened to prove anything ({len(trades)} fills)"
    assert {f"fill:1:{t['id']}" for t in trades} == keys == set(per_fill) == set(ref_fill)
    assert duplicates == 0 and missing == 0
    venue_ids = [o["exchange_order_id"] for o in result["orders"] if o["exchange_order_id"]]
    assert len(venue_ids) == len(set(venue_ids)), "an order id of the venue given to two orders"
    assert others.total() <= ref_others.total() + killed, "a restart is at most one recovery summary"
