"""The lazy ccxt package: only the exchanges read are imported, and it exports what ccxt's own package does."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_bot_process_imports_only_the_exchanges_it_uses():
    got = _run("""
        import json, sys
        from engine.exchange.ccxt_gateway import CcxtGateway  # noqa: F401 - what the bot imports
        from engine.exchange.ccxt_lazy import ccxt
        from engine.exchange.ccxt_venues import VENUES

        def exchanges():
            return sorted(m.rsplit(".", 1)[1] for m in sys.modules
                          if m.count(".") == 2 and m.startswith(("ccxt.async_support.", "ccxt.abstract."))
                          and not m.endswith(".base"))

        before = exchanges()
        built = {v: type(getattr(ccxt, v)({})).__name__ for v in VENUES}
        after = exchanges()
        kraken = ccxt.kraken.__module__
        try:
            ccxt.no_such_exchange
            unknown = "found"
        except AttributeError:
            unknown = "AttributeError"
        from ccxt.base import errors
        print(json.dumps({
            "before": before, "built": built, "after": after, "kraken": kraken, "unknown": unknown,
            "errors_same": all(getattr(ccxt, n) is getattr(errors, n) for n in errors.__all__),
            "exchange_base": ccxt.Exchange.__module__, "version": ccxt.__version__,
            "tick_size": ccxt.TICK_SIZE, "full_package": getattr(sys.modules["ccxt"], "__file__", None) is not None,
        }))
    """)
    assert got["before"] == []
    assert got["built"] == {v: v for v in ("okx", "binance", "bybit", "bitget", "upbit")}
    assert set(got["after"]) == {"okx", "binance", "bybit", "bitget", "upbit"}
    assert got["kraken"] == "ccxt.async_support.kraken"  # any other exchange still loads, on first use
    assert got["unknown"] == "AttributeError"
    assert got["errors_same"] is True
    assert got["exchange_base"] == "ccxt.async_support.base.exchange"
    assert got["version"] and got["tick_size"] == 4
    assert got["full_package"] is False


def test_ccxts_own_package_is_used_when_it_was_imported_first():
    got = _run("""
        import json, sys
        import ccxt.async_support as real
        from engine.exchange.ccxt_lazy import ccxt
        print(json.dumps({"same": ccxt is real, "okx": ccxt.okx is real.okx}))
    """)
    assert got == {"same": True, "okx": True}
