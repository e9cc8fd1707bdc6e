"""Client ids fit every exchange's rules, round-trip, and never collide for different orders."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.exchange.client_ids import ROLES, fits, make_client_id, parse_client_id

ids = st.tuples(st.integers(0, 10**11), st.integers(0, 10**11), st.sampled_from(sorted(ROLES)),
                st.one_of(st.none(), st.integers(0, 1000)), st.integers(0, 10**9))


@given(ids)
def test_fits_every_exchange_and_round_trips(parts):
    cid = make_client_id("okx", *parts)
    assert len(cid) <= 32 and cid.startswith("tb")
    for ex in ("okx", "binance", "bybit", "bitget", "upbit"):
        assert fits(ex, cid)
    assert tuple(parse_client_id(cid)) == parts


@given(ids, ids)
def test_injective(a, b):
    if a != b:
        assert make_client_id("binance", *a) != make_client_id("binance", *b)


def test_examples_and_strangers():
    assert make_client_id("okx", 1, 2, "grid_entry", 3, 4) == "tb1U2BG3L4"
    assert make_client_id("okx", 1, 2, "entry", None, 35) == "tb1U2BELz"
    assert parse_client_id("x-TKT5PX2F0123") is None and parse_client_id("") is None
    with pytest.raises(ValueError):
        make_client_id("okx", 1, 2, "bogus", None, 1)
