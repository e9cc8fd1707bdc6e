"""Pure strategy logic: settings, state and intents; no I/O."""
