"""What the web chat shows of a message: its text as a safe tree of Telegram's formatting, its keyboard and photo.

A message's text reaches the page as nodes, never as HTML: a node is a plain string or
`{"tag": ..., "children": [...]}` with `tag` one of TAGS (`a` also carries `href`, only http, https or mailto;
`pre` may carry `lang`; `cmd` is a /command a client makes tappable). The page builds DOM elements from these with
`createElement` and `textContent`, so bot text can never become markup. The HTML parse mode understands exactly the
subset Telegram allows; any other tag (a `<script>`, an `<img>`) is shown as the text it is, since Telegram would
have refused it. Entities (plain text with offsets in UTF-16 code units, as users' messages and broadcasts carry
them) give the same tree. As Telegram does for a bot's plain text, /commands and http(s) links in text outside
code and links are detected.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

Node = str | dict[str, Any]

TAGS = ("b", "i", "u", "s", "code", "pre", "a", "spoiler", "blockquote", "cmd")
HTML_TAGS = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u", "s": "s", "strike": "s",
             "del": "s", "code": "code", "pre": "pre", "a": "a", "tg-spoiler": "spoiler", "blockquote": "blockquote",
             "tg-emoji": None, "span": "spoiler"}  # None: keep the children only (a custom emoji's fallback)
ENTITY_TAGS = {"bold": "b", "italic": "i", "underline": "u", "strikethrough": "s", "spoiler": "spoiler",
               "code": "code", "pre": "pre", "text_link": "a", "url": "a", "email": "a", "blockquote": "blockquote",
               "expandable_blockquote": "blockquote", "bot_command": "cmd", "custom_emoji": None}
SCHEMES = ("http", "https", "mailto")
AUTO = re.compile(r"(?<![^\s(])(/[A-Za-z0-9_]{1,32})(?:@\w+)?(?![\w/])|(https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]])")


def safe_href(url: str | None) -> str | None:
    """The link if a browser may follow it (http, https, mailto), else None (javascript:, data:, tg:...)."""
    if not url:
        return None
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme in SCHEMES:
        return url
    if not scheme and re.match(r"^[\w.-]+\.[a-z]{2,}(/|$)", url, re.I):  # a bare domain, as in a `url` entity
        return "http://" + url
    return None


def render(text: str | None, parse_mode: str | None = None, entities: list[dict] | None = None) -> list[Node]:
    """The node tree of a text as a Telegram client shows it."""
    if not text:
        return []
    if entities:
        nodes = _from_entities(text, entities)
    elif (parse_mode or "").upper() == "HTML":
        nodes = _from_html(text)
    else:
        nodes = [text]
    return _autolink(nodes)


# ---- HTML parse mode ----

class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root: dict[str, Any] = {"tag": "", "children": []}
        self.stack: list[tuple[str, dict[str, Any]]] = [("", self.root)]

    def _text(self, s: str) -> None:
        kids = self.stack[-1][1]["children"]
        if kids and isinstance(kids[-1], str):
            kids[-1] += s
        else:
            kids.append(s)

    def handle_data(self, data: str) -> None:
        self._text(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag not in HTML_TAGS or (tag == "span" and a.get("class") != "tg-spoiler"):
            self._text(self.get_starttag_text() or f"<{tag}>")
            return
        kind = HTML_TAGS[tag]
        node: dict[str, Any] = {"tag": kind or "", "children": []}
        if kind == "a":
            href = safe_href(a.get("href"))
            if href:
                node["href"] = href
        if kind == "code" and self.stack[-1][1].get("tag") == "pre" and (a.get("class") or "").startswith(
                "language-"):
            self.stack[-1][1]["lang"] = (a.get("class") or "")[len("language-"):]
        self.stack.append((tag, node))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._text(self.get_starttag_text() or f"<{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        if tag not in {t for t, _ in self.stack[1:]}:
            self._text(f"</{tag}>")
            return
        while self.stack[-1][0] != tag:  # close what was left open inside it
            self._close()
        self._close()

    def _close(self) -> None:
        _tag, node = self.stack.pop()
        parent = self.stack[-1][1]["children"]
        if node["tag"]:
            parent.append(node)
        else:
            for kid in node["children"]:  # a tag kept for its children only
                if isinstance(kid, str) and parent and isinstance(parent[-1], str):
                    parent[-1] += kid
                else:
                    parent.append(kid)

    def result(self) -> list[Node]:
        self.close()
        while len(self.stack) > 1:
            self._close()
        return self.root["children"]


def _from_html(text: str) -> list[Node]:
    p = _Html()
    p.feed(text)
    return p.result()


# ---- entities ----

def _utf16_index(text: str) -> list[int]:
    """For each UTF-16 offset, the Python string index (astral characters take two UTF-16 units)."""
    out = []
    for i, ch in enumerate(text):
        out.append(i)
        if ord(ch) > 0xFFFF:
            out.append(i)
    out.append(len(text))
    return out


def _from_entities(text: str, entities: list[dict]) -> list[Node]:
    at = _utf16_index(text)
    spans = []
    for e in entities:
        try:
            off, length = int(e["offset"]), int(e["length"])
        except (KeyError, TypeError, ValueError):
            continue
        if length <= 0 or off < 0 or off >= len(at) - 1:
            continue
        start, end = at[off], at[min(off + length, len(at) - 1)]
        spans.append((start, end, e))
    spans.sort(key=lambda s: (s[0], -s[1]))
    return _nest(text, 0, len(text), spans)


def _nest(text: str, start: int, end: int, spans: list[tuple[int, int, dict]]) -> list[Node]:
    out: list[Node] = []
    pos, i = start, 0
    while i < len(spans):
        s, e, ent = spans[i]
        e = min(e, end)  # an entity overlapping its parent's end is cut there
        inner = []
        j = i + 1
        while j < len(spans) and spans[j][0] < e:
            inner.append(spans[j])
            j += 1
        if s > pos:
            out.append(text[pos:s])
        kids = _nest(text, s, e, inner)
        tag = ENTITY_TAGS.get(str(ent.get("type")))
        if tag:
            node: dict[str, Any] = {"tag": tag, "children": kids}
            href = {"text_link": ent.get("url"), "url": text[s:e], "email": f"mailto:{text[s:e]}"}.get(
                str(ent.get("type")))
            if tag == "a" and safe_href(href):
                node["href"] = safe_href(href)
            if tag == "pre" and ent.get("language"):
                node["lang"] = str(ent["language"])
            out.append(node)
        else:
            out.extend(kids)
        pos, i = e, j
    if pos < end:
        out.append(text[pos:end])
    return out


# ---- what clients detect in plain text ----

def _autolink(nodes: list[Node]) -> list[Node]:
    out: list[Node] = []
    for n in nodes:
        if isinstance(n, str):
            out.extend(_detect(n))
        elif n["tag"] in ("code", "pre", "a", "cmd"):
            out.append(n)
        else:
            out.append({**n, "children": _autolink(n["children"])})
    return out


def _detect(text: str) -> list[Node]:
    out: list[Node] = []
    pos = 0
    for m in AUTO.finditer(text):
        if m.start() > pos:
            out.append(text[pos:m.start()])
        if m.group(1):
            out.append({"tag": "cmd", "children": [m.group(0)]})
        else:
            out.append({"tag": "a", "href": m.group(2), "children": [m.group(2)]})
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:])
    return out


# ---- a whole message ----

def keyboard(markup: dict | None) -> list[list[dict]]:
    """Inline keyboard rows: each button's text and its callback data or (safe) link; other kinds inert."""
    rows = []
    for row in (markup or {}).get("inline_keyboard", []) or []:
        out = []
        for b in row:
            button: dict[str, Any] = {"text": str(b.get("text", ""))}
            if b.get("callback_data"):
                button["data"] = str(b["callback_data"])
            elif safe_href(b.get("url")):
                button["url"] = safe_href(b.get("url"))
            out.append(button)
        if out:
            rows.append(out)
    return rows


def message(view: dict, version: int = 0) -> dict:
    """A message for the page, from `ChatStore.view` (bot/sandbox/chats.py)."""
    photo = view.get("photo")
    return {
        "id": view["message_id"],
        "v": version,
        "out": not view.get("from_bot"),  # the user's own messages sit on the right, as in a client
        "date": view.get("date"),
        "edited": bool(view.get("edit_date")),
        "text": render(view.get("text"), view.get("parse_mode"), view.get("entities")),
        "photo": f"/api/photos/{quote(str(photo), safe='')}" if photo else None,
        "caption": render(view.get("caption"), view.get("caption_parse_mode"), view.get("caption_entities")),
        "keyboard": keyboard(view.get("reply_markup")),
    }
