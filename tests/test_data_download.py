"""`engine.market.download` downloads candles through real ccxt (OKX) from a local server, resumably, into the CSV format."""

from __future__ import annotations

import pytest
from aiohttp import web

from engine.candles import load_csv
from engine.exchange.ccxt_lazy import ccxt
from engine.market.download import csv_name, download, main

INSTRUMENT = {
    "instType": "SPOT", "instId": "BTC-USDT", "baseCcy": "BTC", "quoteCcy": "USDT", "settleCcy": "", "ctVal": "",
    "ctMult": "", "ctValCcy": "", "tickSz": "0.1", "lotSz": "0.00000001", "minSz": "0.00001", "state": "live",
    "listTime": "1548133413000", "lever": "10", "maxLmtSz": "9999999999", "maxMktSz": "1000000",
    "uly": "", "instFamily": "", "ruleType": "normal",
}


async def _serve(rows: list[list[float]]):
    calls: list[dict] = []

    async def instruments(request):
        data = [INSTRUMENT] if request.query.get("instType") == "SPOT" else []
        return web.json_response({"code": "0", "msg": "", "data": data})

    async def candles(request):
        q = request.query
        calls.append(dict(q))
        after = int(q.get("after", 10**15))  # older than
        before = int(q.get("before", -1))  # newer than
        limit = int(q.get("limit", 100))
        sel = [r for r in rows if before < r[0] < after]
        sel = sel[:limit] if "before" in q else sel[-limit:]
        out = [[str(int(r[0])), *map(str, r[1:6]), "0", "0", "1"] for r in reversed(sel)]
        return web.json_response({"code": "0", "msg": "", "data": out})

    app = web.Application()
    app.router.add_get("/api/v5/public/instruments", instruments)
    app.router.add_get("/api/v5/market/candles", candles)
    app.router.add_get("/api/v5/market/history-candles", candles)
    runner = web.AppRunner(app)  # a local OKX v5 stand-in
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, port, calls


def _okx(port: int):
    ex = ccxt.okx({"enableRateLimit": False})
    ex.urls["api"] = {"rest": f"http://127.0.0.1:{port}"}
    ex.has["fetchCurrencies"] = False
    return ex


async def test_download_resumes_and_tolerates_gaps(shared_data, tmp_path):
    src = load_csv(shared_data / "BTC_USDT-1m.csv")[:2000]
    rows = [r for i, r in enumerate(src.rows()) if not 700 <= i < 710]  # a 10-minute outage
    runner, port, calls = await _serve(rows)
    ex = _okx(port)
    path = tmp_path / csv_name("BTC/USDT", "1m")
    seen: list[tuple[int, int]] = []
    try:
        t0 = rows[0][0]
        half = int(rows[1000][0])
        n1 = await download(ex, "BTC/USDT", "1m", t0, path, until_ms=half)
        # an interrupted run leaves a torn line; the next run drops it and continues
        with path.open("a") as f:
            f.write("1722063300000,67745.7")
        n2 = await download(ex, "BTC/USDT", "1m", t0, path, until_ms=int(rows[-1][0]) + 30_000,
                            progress=lambda d, t: seen.append((d, t)))
    finally:
        await ex.close()
        await runner.cleanup()
    got = load_csv(path)
    assert n1 == 1000 and n2 == len(rows) - 1 - 1000  # the last candle is still forming at `until`
    assert got.rows() == rows[:-1]  # identical values, gap kept as a gap, nothing twice
    assert seen and seen[-1][0] == n2
    assert all(c["instId"] == "BTC-USDT" and c["bar"] == "1m" for c in calls)


def test_cli_refuses_bad_arguments(capsys):
    with pytest.raises(SystemExit) as e:
        main(["download", "--exchange", "okx", "--symbol", "BTC/USDT", "--timeframe", "7x", "--since", "2024-01-01"])
    assert e.value.code == 2
    assert "unknown timeframe" in capsys.readouterr().err


def test_csv_name():
    assert csv_name("BTC/USDT:USDT", "1h") == "BTC_USDT-1h.csv"
    assert csv_name("ETH/USDT", "5m") == "ETH_USDT-5m.csv"
