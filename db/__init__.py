"""Storage: Tortoise models, secret vault, migrations."""
