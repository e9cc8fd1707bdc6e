"""strategies."""

from aiogram import Router

from bot.filters import accepted

router = Router(name="strategies")
router.message.filter(accepted)
router.callback_query.filter(accepted)
