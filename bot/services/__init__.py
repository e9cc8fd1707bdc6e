"""The chat's business services: plain data in, plain data out, domain exceptions; nothing here knows Telegram."""
