"""Entry point of `python -m engine.backtest`."""

import sys

from engine.backtest.cli import main

sys.exit(main())
