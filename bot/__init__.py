"""Telegram face and composition root."""
