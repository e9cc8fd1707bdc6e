"""status."""

from aiogram import Router

from bot.filters import accepted

router = Router(name="status")
router.message.filter(accepted)
router.callback_query.filter(accepted)
