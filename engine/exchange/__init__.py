"""Exchange protocol and its implementations (ccxt live, paper simulated)."""
