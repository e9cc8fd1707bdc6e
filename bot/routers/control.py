"""control."""

from aiogram import Router

from bot.filters import accepted

router = Router(name="control")
router.message.filter(accepted)
router.callback_query.filter(accepted)
