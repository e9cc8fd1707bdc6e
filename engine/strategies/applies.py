"""Which settings apply, given the others: the editor lists only those (a fixed grid has no re-centring, a HYPERRSI
bot with pyramiding off has no pyramiding steps)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

Rule = Callable[[Mapping[str, Any]], bool]  # given every value (defaults filled in): does the setting matter?


def on(name: str) -> Rule:
    return lambda v: bool(v[name])


def equals(name: str, value: Any) -> Rule:
    return lambda v: v[name] == value


def every(*rules: Rule) -> Rule:
    return lambda v: all(rule(v) for rule in rules)


def applicable(model: type[BaseModel], rules: Mapping[str, Rule], values: Mapping[str, Any]) -> list[str]:
    """The model's settings that matter for `values`, in declaration order.

    A setting the rules hide still shows while the settings are invalid and it holds a value other than its default:
    it may be what is wrong (an adaptive grid with trailing left on), and a hidden setting could not be fixed."""
    defaults = {name: info.default for name, info in model.model_fields.items()}
    full = defaults | {k: v for k, v in values.items() if k in defaults}
    hidden = {name for name, rule in rules.items() if not rule(full)}
    if any(full[n] != defaults[n] for n in hidden) and not _valid(model, full):
        hidden = {n for n in hidden if full[n] == defaults[n]}
    return [name for name in defaults if name not in hidden]


def _valid(model: type[BaseModel], values: Mapping[str, Any]) -> bool:
    try:
        model(**values)
    except ValidationError:
        return False
    return True
