"""The trading core: indicators, strategies, exchanges, runtime jobs and the backtester."""
