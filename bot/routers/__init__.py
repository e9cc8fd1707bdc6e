"""One aiogram router per feature of the chat."""
