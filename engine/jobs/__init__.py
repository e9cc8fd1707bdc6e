"""The job layer: strategy work as taskiq jobs, in this process (InMemoryBroker) or on NATS JetStream (BROKER_URL)."""
