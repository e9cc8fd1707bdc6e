"""`python -m bot [--role web|worker|scheduler|all]`: run the Telegram bot and its engine (all of it by default)."""

import sys

from bot.app import main
from bot.roles import parse_role

sys.exit(main(role=parse_role(sys.argv[1:])))
