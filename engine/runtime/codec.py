"""Strategy states to and from the JSON kept in StrategyBot.state (NaN as null, levels as dicts)."""

from __future__ import annotations

import math
from dataclasses import asdict, fields
from typing import Any

from engine.strategies.grid import GridState, Level
from engine.strategies.hyperrsi import HyperRsiState

_NAN_FIELDS = {"atr"}


def _clean(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


_HYPERRSI_FIELDS = tuple(f.name for f in fields(HyperRsiState))


def hyperrsi_to_json(s: HyperRsiState) -> dict:
    return {k: _clean(getattr(s, k)) for k in _HYPERRSI_FIELDS}  # scalars only: as asdict, without its deep copy


def hyperrsi_from_json(d: dict | None) -> HyperRsiState:
    if not d:
        return HyperRsiState()
    known = {f.name for f in fields(HyperRsiState)}
    kw = {k: v for k, v in d.items() if k in known}
    for k in _NAN_FIELDS:
        if kw.get(k) is None:
            kw[k] = math.nan
    return HyperRsiState(**kw)


def grid_to_json(s: GridState) -> dict:
    d = {k: _clean(v) for k, v in asdict(s).items() if k not in ("levels", "notes")}
    d["levels"] = [asdict(lvl) for lvl in s.levels]
    return d


def grid_from_json(d: dict | None) -> GridState | None:
    if not d:
        return None
    known = {f.name for f in fields(GridState)} - {"levels", "notes"}
    kw = {k: v for k, v in d.items() if k in known}
    return GridState(levels=tuple(Level(**lvl) for lvl in d.get("levels", [])), **kw)
