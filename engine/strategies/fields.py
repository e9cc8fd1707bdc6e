"""Settings-field metadata: every strategy setting carries label/help keys and its range or choices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

PROBLEM = "settings_problem"  # the error type of every cross-field problem; its ctx["code"] names which one


def setting(
    default: Any,
    *,
    label: str,
    help: str,
    group: str = "general",
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
    choices: tuple[str, ...] | None = None,
    unit: str | None = None,
) -> Any:
    """A pydantic Field whose extra schema tells the chat editor how to label, prompt and validate it."""
    extra: dict[str, Any] = {"label_key": label, "help_key": help, "group": group}
    if choices is not None:
        extra["choices"] = list(choices)
    if unit is not None:
        extra["unit"] = unit
    return Field(default, ge=ge, le=le, gt=gt, lt=lt, json_schema_extra=extra)


def problem(code: str, message: str) -> PydanticCustomError:
    """A cross-field settings problem to raise from a model validator: `code` names it for the chat (the catalogue's
    `problem.<code>`), `message` says it in English for logs and the backtest CLI."""
    return PydanticCustomError(PROBLEM, message, {"code": code})


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One editable setting as the generic editor sees it."""

    name: str
    kind: str  # "bool", "int", "float", "choice"
    default: Any
    label_key: str
    help_key: str
    group: str
    minimum: float | None
    maximum: float | None
    exclusive_minimum: bool
    exclusive_maximum: bool
    choices: tuple[str, ...] | None
    unit: str | None


def _bounds(info: FieldInfo) -> tuple[float | None, float | None, bool, bool]:
    lo = hi = None
    lo_x = hi_x = False
    for m in info.metadata:
        for attr, is_lo, excl in (("ge", True, False), ("gt", True, True), ("le", False, False), ("lt", False, True)):
            v = getattr(m, attr, None)
            if v is None:
                continue
            if is_lo:
                lo, lo_x = v, excl
            else:
                hi, hi_x = v, excl
    return lo, hi, lo_x, hi_x


def describe(model: type[BaseModel]) -> list[SettingSpec]:
    """List a settings model's fields in declaration order, with everything the editor needs."""
    specs: list[SettingSpec] = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if "label_key" not in extra:
            continue
        ann = info.annotation
        choices = tuple(extra["choices"]) if "choices" in extra else None
        if choices is None and ann is not None and hasattr(ann, "__members__"):
            choices = tuple(m.value for m in ann)  # an Enum annotation
        if choices is None and get_args(ann) and all(isinstance(a, str) for a in get_args(ann)):
            choices = tuple(get_args(ann))  # a Literal annotation
        if choices is not None:
            kind = "choice"
        elif ann is bool:
            kind = "bool"
        elif ann is int:
            kind = "int"
        else:
            kind = "float"
        lo, hi, lo_x, hi_x = _bounds(info)
        specs.append(
            SettingSpec(
                name=name,
                kind=kind,
                default=info.default,
                label_key=str(extra["label_key"]),
                help_key=str(extra["help_key"]),
                group=str(extra.get("group", "general")),
                minimum=lo,
                maximum=hi,
                exclusive_minimum=lo_x,
                exclusive_maximum=hi_x,
                choices=choices,
                unit=extra.get("unit"),
            )
        )
    return specs
