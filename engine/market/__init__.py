"""Market data: clocks, candle replay from CSV files and the shared candle service."""
