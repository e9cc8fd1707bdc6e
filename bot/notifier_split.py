"""Splitting chat text over Telegram's 4,096-character limit (counted in UTF-16 units) at line boundaries."""

from __future__ import annotations

_SPLIT_AT = 4096


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = _SPLIT_AT) -> list[str]:
    """Split into parts of at most `limit` UTF-16 units, at line boundaries; a longer line is cut at a space."""
    if utf16_len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in _cut_long_lines(text.split("\n"), limit):
        candidate = f"{current}\n{line}" if current else line
        if current and utf16_len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return [p for p in parts if p.strip()] or [text[:limit]]


def _cut_long_lines(lines: list[str], limit: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        while utf16_len(line) > limit:
            head = _prefix_within(line, limit)
            space = head.rfind(" ")
            if space > limit // 2:
                head = head[:space]
            out.append(head)
            line = line[len(head):].lstrip(" ")
        out.append(line)
    return out


def _prefix_within(text: str, limit: int) -> str:
    """The longest prefix of `text` of at most `limit` UTF-16 units, never splitting a surrogate pair."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return text[:i]
    return text
