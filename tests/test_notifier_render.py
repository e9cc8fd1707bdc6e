"""Rendering each notification kind in English and Korean; every key the notifier and admin texts need exists."""

from __future__ import annotations

import re
import string

import pytest

from bot.i18n import LANGUAGES, LOCALES_DIR, make_i18n, read_catalogue
from bot.notifier_render import FIELD_PREFIX, KINDS, LINES, UNKNOWN_TITLE, WORD_PREFIXES, i18n_translate, render
from db.enums import OrderRole, OrderSide

TR = i18n_translate(make_i18n())
HANGUL = re.compile(r"[\uac00-\ud7a3]")
FILL = {"bot_id": 3, "symbol": "BTC/USDT", "side": "sell", "role": "tp", "level": None, "price": "70000.00",
        "amount": "0.500", "fee": "1.75", "fee_currency": "USDT", "pnl": "-12.3400"}


def _needed_keys() -> set[str]:
    keys = set(KINDS.values()) | set(LINES) | {UNKNOWN_TITLE}
    keys |= {WORD_PREFIXES["side"] + s.value for s in OrderSide}
    keys |= {WORD_PREFIXES["role"] + r.value for r in OrderRole}
    keys |= {"admin.broadcast.progress", "admin.broadcast.done"}  # looked up by the background sender
    return keys


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_the_notifier_builds_exists_in_both_languages(lang):
    cat = read_catalogue(LOCALES_DIR / lang, lang)
    missing = sorted(k for k in _needed_keys() if k not in cat or not cat[k].string)
    assert not missing


def test_same_placeholders_in_both_languages_for_notify_and_admin_keys():
    en, ko = (read_catalogue(LOCALES_DIR / lang, lang) for lang in ("en", "ko"))
    keys = [m.id for m in en if m.id and str(m.id).startswith(("notify.", "admin."))]
    assert len(keys) > 60
    for key in keys:
        fields = [{f for _, f, _, _ in string.Formatter().parse(c[key].string) if f} for c in (en, ko)]
        assert fields[0] == fields[1], key
        if not key.startswith(("notify.bot", "notify.trade", "notify.kind.", "admin.user.bot")):
            assert HANGUL.search(ko[key].string) or not re.search("[A-Za-z]{3}", en[key].string), key


def test_fill_in_both_languages_drops_missing_fields_and_trims_decimals():
    en = render("fill", FILL, "en", TR).splitlines()
    assert en == ["✅ Order filled", "Bot #3 · BTC/USDT spot", "Sell 0.5 @ 70,000", "Order: take-profit",
                  "Fee: 1.75 USDT", "This trade's realised PnL (before fees): -12.34"]
    ko = render("fill", FILL, "ko", TR).splitlines()
    assert ko[:4] == ["✅ 주문 체결", "봇 #3 · BTC/USDT 현물", "매도 0.5 @ 70,000", "주문 종류: 익절"]


def test_extra_fields_are_listed_and_unknown_kinds_are_shown_not_dropped():
    text = render("grid_stopped", {"bot_id": 1, "symbol": "ETH/USDT", "reason": "stop_bound", "levels_open": 4,
                                   "fee": "0.1"}, "en", TR)
    assert text.splitlines() == ["⏹ Grid stopped", "Bot #1 · ETH/USDT spot", "Reason: price left the grid's lower stop "
                                 "bound", "levels_open: 4", "Fee: 0.10"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_runtime_payloads_read_as_sentences_without_raw_keys(lang):
    """Payloads as engine/runtime/events.py documents them: every key gets a translated line or label."""
    payloads = {
        "entry": {**FILL, "role": "entry", "position_side": "long", "size": "0.5", "average": "70000",
                  "pyramid_count": 2},
        "take_profit": {**FILL, "stage": 1, "size": "0.25", "realized_pnl": "40"},
        "stop_loss": {**FILL, "role": "sl", "stop_reason": "break_even_tp1", "size": "0", "realized_pnl": "39"},
        "fill": {**FILL, "kind_detail": "grid_exit", "position": "-0.5", "realized_pnl": "3"},
        "trailing_moved": {"bot_id": 1, "symbol": "S/T", "stop": "2", "previous": None, "reason": "trailing",
                           "candle_ts": 1_764_054_000_000},
        "note": {"bot_id": 1, "symbol": "S/T", "reason": "below_minimum", "details": {"amount": 0.1, "cost": 2.5},
                 "candle_ts": 1_764_054_000_000},
        "bot_error": {"bot_id": 1, "symbol": "S/T", "error": "exchange_unavailable", "where": "supervise"},
        "grid_stopped": {"bot_id": 1, "symbol": "S/T", "reason": "grid_stop_loss", "position": "0.3",
                         "realized_pnl": "-5"},
        "bot_stopped": {"bot_id": 1, "symbol": "S/T", "kind": "grid", "close_position": True, "cancelled": 4,
                        "closed": "0.3", "emergency": False},
        "recovery_summary": {"bots": 2, "fills": 1, "closed_out": 0, "adopted": 1, "resolved": 0, "placed": 3},
    }
    for kind, payload in payloads.items():
        text = render(kind, payload, lang, TR)
        for key in payload:
            assert not re.search(rf"^{key}:", text, re.M), (kind, key, text)
        assert "notify." not in text and "grid_exit" not in text
        if lang == "ko":
            assert all(HANGUL.search(line) or line.startswith(("  ", "GRID", "Buy", "Sell"))
                       or not re.search("[A-Za-z]{4}", line.replace("S/T", "").replace("USDT", ""))
                       for line in text.splitlines()[1:]), text
    assert "2025-11-25 07:00 UTC" in render("note", payloads["note"], lang, TR)
    unknown = render("margin_call", {"symbol": "BTC/USDT:USDT", "ratio": "0.91", "_internal": 1}, "ko", TR)
    assert unknown.splitlines() == ["🔔 이벤트: margin_call", "심볼: BTC/USDT 무기한", "ratio: 0.91"]
    assert render("note", {}, "en", TR) == "ℹ️ Strategy note"


def test_an_unknown_reason_code_is_shown_raw_and_odd_values_survive():
    text = render("bot_error", {"bot_id": 2, "symbol": "X/Y", "error": "ExchangeUnavailable: timeout",
                                "reason": "weird_code", "ids": [1, 2], "ok": True, "price": "NaN"}, "en", TR)
    assert "Reason: weird_code" in text and "Error: ExchangeUnavailable: timeout" in text
    assert "ids: 1, 2" in text and "ok: yes" in text and "Price: NaN" in text


def test_field_labels_exist_for_some_common_fields():
    assert TR(FIELD_PREFIX + "symbol", "ko") == "심볼"


def test_each_kind_has_its_own_formatter_covering_every_field_of_its_model():
    """One formatter per kind (bot/notifier_render.FORMATS): exactly the lines whose fields its model
    (engine/notices.py) can carry, in the common order; kinds and models are the same set."""
    from bot.notifier_render import FORMATS
    from engine.notices import KINDS as MODELS

    en = read_catalogue(LOCALES_DIR / "en", "en")
    assert set(FORMATS) == set(MODELS) == set(KINDS)
    for kind, model in MODELS.items():
        fields = {f.alias or name for name, f in model.model_fields.items() if not f.exclude}
        expected = tuple(key for key in LINES
                         if {f for _, f, _, _ in string.Formatter().parse(en[key].string) if f} <= fields)
        assert FORMATS[kind] == expected, kind


def test_a_stop_that_closed_nothing_does_not_list_a_closed_amount():
    # seen in a transcript: "Amount closed: 0.0000 BTC" when the bot was already flat at the stop
    payload = {"bot_id": 1, "symbol": "BTC/USDT:USDT", "kind": "hyperrsi", "close_position": True, "cancelled": 0,
               "closed": "0", "emergency": False, "trades": 2, "run_pnl": "1.04", "fees": "0.29", "held_for": 4560}
    text = render("bot_stopped", payload, "en", TR)
    assert "Amount closed" not in text and "Closed at" not in text, text
    assert "Amount closed: 0.3" in render("bot_stopped", {**payload, "closed": "0.3"}, "en", TR)
