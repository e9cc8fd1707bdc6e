"""Backtests on the live strategy code: runner, metrics, charts and the command line."""
