"""`python -m bot`: run the Telegram bot and its scheduler in one process."""

import sys

from bot.app import main

sys.exit(main())
