"""Every message key the chat uses exists in English and Korean, in every .po file pair, with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

from babel.messages.pofile import read_po

from bot.dispatcher import MENU_COMMANDS
from bot.i18n import LANGUAGES, LOCALES_DIR, make_i18n, read_catalogue
from bot.keyboards import MENU_ITEMS
from bot.settings_editor import PRESETS, specs
from db.enums import BotKind, BotStatus, MarketType, PositionSide
from engine.exchange.protocol import ExchangeError

ROOT = Path(__file__).resolve().parent.parent
KEY_CALL = re.compile(r"""(?<![\w.])(?:_|__|gettext|lazy_gettext)\(\s*["']([a-z0-9_]+\.[a-z0-9_.%]+)["']""")


def code_keys() -> set[str]:
    keys = set()
    for py in (ROOT / "bot").rglob("*.py"):
        keys |= set(KEY_CALL.findall(py.read_text()))
    return keys


def dynamic_keys() -> set[str]:
    """Keys the code builds from values (f-strings): enumerated from the same constants the code uses."""
    keys = {f"menu.{i}" for i in MENU_ITEMS} | {f"cmd.{c}" for c in MENU_COMMANDS}
    keys |= {f"market.{m.value}" for m in MarketType} | {f"status.{s.value}" for s in BotStatus}
    keys |= {f"side.{s.value}" for s in PositionSide} | {"control.paused", "control.resumed"}
    for kind in BotKind:
        keys.add(f"bots.intro.{kind.value}")
        keys |= {f"preset.{kind.value}.{name}" for name in PRESETS[kind]}
        for spec in specs(kind).values():
            keys |= {spec.label_key, spec.help_key, f"group.{kind.value}.{spec.group}"}
            if spec.unit:
                keys.add(f"unit.{spec.unit}")
    for py in [*(ROOT / "engine" / "strategies").glob("*.py"), *(ROOT / "engine" / "runtime").glob("*.py")]:
        keys |= {f"refused.{r}" for r in re.findall(r'PlanRefused\(\s*"([a-z_]+)"', py.read_text())}
        keys |= {f"problem.{c}" for c in re.findall(r'\bproblem\(\s*"([a-z_]+)"', py.read_text())}
    keys |= {f"refused.{cls.reason}" for cls in _subclasses(ExchangeError)}
    return keys


def _subclasses(cls: type) -> set[type]:
    out = {cls}
    for sub in cls.__subclasses__():
        out |= _subclasses(sub)
    return out


def placeholders(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_every_used_key_is_translated_in_both_languages():
    catalogues = {lang: read_catalogue(LOCALES_DIR / lang, lang) for lang in LANGUAGES}
    used = code_keys() | dynamic_keys()
    assert len(used) > 300  # the scan found the chat's keys (a broken regex would pass vacuously)
    assert len({k for k in used if k.startswith("problem.")}) >= 16  # every settings problem code, as raised
    for lang, cat in catalogues.items():
        missing = sorted(k for k in used if k not in cat or not cat[k].string)
        assert not missing, f"{lang}: {len(missing)} keys without a translation: {missing[:20]}"


def test_each_po_file_has_the_same_keys_and_placeholders_in_both_languages():
    en_files = sorted(p.name for p in (LOCALES_DIR / "en" / "LC_MESSAGES").glob("*.po"))
    ko_files = sorted(p.name for p in (LOCALES_DIR / "ko" / "LC_MESSAGES").glob("*.po"))
    assert en_files == ko_files and "messages.po" in en_files
    for name in en_files:
        cats = {}
        for lang in LANGUAGES:
            with (LOCALES_DIR / lang / "LC_MESSAGES" / name).open("rb") as f:
                cats[lang] = {m.id: m.string for m in read_po(f, locale=lang) if m.id}
        assert set(cats["en"]) == set(cats["ko"]), f"{name}: {set(cats['en']) ^ set(cats['ko'])}"
        for key, en in cats["en"].items():
            ko = cats["ko"][key]
            assert en and ko, f"{name}: {key} is empty"
            assert placeholders(en) == placeholders(ko), f"{name}: {key} placeholders differ"


def test_korean_text_is_korean():
    i18n = make_i18n()
    for key in ("start.risk_notice", "accounts.send_api_key", "editor.out_of_range", "grid.levels.help"):
        ko = i18n.gettext(key, locale="ko")
        assert ko != i18n.gettext(key, locale="en")
        assert re.search(r"[\uac00-\ud7a3]", ko), key
