"""A string wrapper that never shows its value in repr/str/format, and the masked hint shown to users."""

from __future__ import annotations


class Secret:
    """Holds a secret value; only `.reveal()` gives it back. Printing, logging or formatting shows a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        if not isinstance(value, str):
            raise TypeError("Secret holds a str")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):  # no pickling the plaintext by accident
        raise TypeError("Secret values cannot be pickled")


def mask(value: str) -> str:
    """First and last 4 characters with an ellipsis between; short values are masked whole."""
    if len(value) <= 12:
        return "…" * 3
    return f"{value[:4]}…{value[-4:]}"
