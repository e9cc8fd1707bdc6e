"""Inline keyboards: the builder every router uses, and the fixed keyboards built once per language."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import LangCb, MenuCb

MENU_ITEMS = ("accounts", "hyperrsi", "grid", "status", "backtest", "help")
LANGUAGE_NAMES = {"en": "English", "ko": "한국어"}
_cache: dict[tuple[str, str], InlineKeyboardMarkup] = {}


Keyboard = InlineKeyboardBuilder  # the name every router builds with: aiogram's builder as it is


def _per_language(name: str, build) -> InlineKeyboardMarkup:
    key = (name, I18n.get_current().current_locale)
    markup = _cache.get(key)
    if markup is None:
        markup = _cache[key] = build()
    return markup


def main_menu() -> InlineKeyboardMarkup:
    def build() -> InlineKeyboardMarkup:
        kb = Keyboard()
        for item in MENU_ITEMS:
            kb.button(text=_(f"menu.{item}"), callback_data=MenuCb(item=item))
        kb.button(text=_("menu.language"), callback_data=MenuCb(item="language"))
        kb.adjust(2)
        return kb.as_markup()

    return _per_language("main", build)


def language_choice() -> InlineKeyboardMarkup:
    def build() -> InlineKeyboardMarkup:
        kb = Keyboard()
        for code, name in LANGUAGE_NAMES.items():
            kb.button(text=name, callback_data=LangCb(code=code))
        return kb.as_markup()

    return _per_language("language", build)


def back_to_menu(kb: Keyboard | None = None) -> Keyboard:
    kb = kb or Keyboard()
    kb.button(text=_("menu.back"), callback_data=MenuCb(item="main"))
    return kb


def back_markup() -> InlineKeyboardMarkup:
    return _per_language("back", lambda: back_to_menu().as_markup())
