"""Gettext for the chat: every locales/<lang>/LC_MESSAGES/*.po merged into one in-memory catalogue per language."""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = ("en", "ko")


def read_catalogue(lang_dir: Path, locale: str) -> Catalog:
    """All .po files of one language as one babel Catalog (a key defined twice keeps its first translation)."""
    merged = Catalog(locale=locale, domain="messages")
    for po in sorted((lang_dir / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as f:
            cat = read_po(f, locale=locale)
        for msg in cat:
            if msg.id and msg.id not in merged:
                merged.add(msg.id, msg.string, locations=msg.locations)
    return merged


def compile_catalogue(cat: Catalog) -> gettext.GNUTranslations:
    buf = io.BytesIO()
    write_mo(buf, cat)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


class MergedI18n(I18n):
    """aiogram's I18n reading .po files directly (no compiled .mo files in the repository)."""

    @contextmanager
    def context(self) -> Iterator[I18n]:
        # The mixin gives each subclass its own context variable; aiogram's `gettext` reads I18n's.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        out = {}
        for lang_dir in sorted(p for p in self.path.iterdir() if p.is_dir()):
            if (lang_dir / "LC_MESSAGES").is_dir():
                out[lang_dir.name] = compile_catalogue(read_catalogue(lang_dir, lang_dir.name))
        return out


class UserLanguageMiddleware(I18nMiddleware):
    """The locale is the language stored on the user's row (loaded earlier by the user middleware)."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user = data.get("db_user")
        lang = getattr(user, "language", None)
        return lang if lang in self.i18n.available_locales else self.i18n.default_locale


def make_i18n(default_locale: str = "en", path: Path = LOCALES_DIR) -> MergedI18n:
    return MergedI18n(path=path, default_locale=default_locale, domain="messages")
