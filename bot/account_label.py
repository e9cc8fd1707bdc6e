"""How the chat names an account: its label, tagged DEMO for an account in its venue's demo environment."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.services.accounts import ExchangeAccount


def account_label(account: ExchangeAccount) -> str:
    return _("accounts.demo_label").format(label=account.label) if account.is_demo else account.label
