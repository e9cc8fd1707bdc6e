"""Local stand-ins for external services, driven over real HTTP by the code under test."""
