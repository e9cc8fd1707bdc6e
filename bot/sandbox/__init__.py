"""The sandbox: the whole bot without Telegram — an embedded Bot API server and a web chat on 127.0.0.1."""
