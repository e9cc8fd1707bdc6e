"""Secret vault: MultiFernet over MASTER_KEY (newest key first) and `python -m db.vault rotate`."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from db.config import AppConfig, ConfigError
from db.secret_value import Secret

log = logging.getLogger(__name__)

DEV_KEY_FILE = Path("data/master.key")
SECRET_COLUMNS = ("api_key_enc", "secret_enc", "passphrase_enc")


class VaultError(Exception):
    """Decryption failed or the key material is unusable; the message never contains key or secret."""


class Vault:
    """Encrypts with the newest key, decrypts with any of them."""

    def __init__(self, keys: Sequence[str]):
        if not keys:
            raise VaultError("no master key given")
        fernets = []
        for i, k in enumerate(keys, 1):
            try:
                fernets.append(Fernet(k.strip().encode()))
            except (ValueError, TypeError):
                raise VaultError(
                    f"master key #{i} is not a valid Fernet key (32 url-safe base64-encoded bytes, 44 characters)"
                ) from None
        self._multi = MultiFernet(fernets)
        self._newest = fernets[0]

    def __repr__(self) -> str:
        return "Vault(<keys hidden>)"

    def encrypt(self, value: str | Secret) -> str:
        plain = value.reveal() if isinstance(value, Secret) else value
        return self._multi.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> Secret:
        try:
            return Secret(self._multi.decrypt(token.encode()).decode())
        except (InvalidToken, ValueError, TypeError):
            raise VaultError(
                "cannot decrypt a stored secret: MASTER_KEY does not match the key it was stored with "
                "(if you rotated keys, keep the old key after the new one until `python -m db.vault rotate` ran)"
            ) from None

    def rotate_token(self, token: str) -> str:
        try:
            return self._multi.rotate(token.encode()).decode()
        except InvalidToken:
            raise VaultError("cannot re-encrypt a stored secret: none of the master keys opens it") from None

    def is_newest(self, token: str) -> bool:
        try:
            self._newest.decrypt(token.encode())
            return True
        except InvalidToken:
            return False


def load_master_keys(config: AppConfig, key_file: Path = DEV_KEY_FILE) -> list[str]:
    """MASTER_KEY if set; in development a key generated once into `data/master.key` (0600)."""
    if config.MASTER_KEY is not None:
        keys = [k.strip() for k in config.MASTER_KEY.get_secret_value().split(",") if k.strip()]
        if not keys:
            raise ConfigError("MASTER_KEY is set but empty.")
        return keys
    if config.is_production:
        raise ConfigError("ENV=production requires MASTER_KEY; it is not set.")
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(Fernet.generate_key().decode() + "\n")
        log.warning(
            "MASTER_KEY is not set: generated a development key in %s (mode 0600). Back it up; "
            "without it the stored API keys cannot be decrypted. Set MASTER_KEY in production.",
            key_file,
        )
    return [key_file.read_text().strip()]


async def rotate_all(vault: Vault) -> int:
    """Re-encrypt every stored secret with the newest key, in one transaction; returns the count."""
    from tortoise.transactions import in_transaction

    from db.models import ExchangeAccount

    count = 0
    async with in_transaction() as conn:
        accounts = await ExchangeAccount.all().using_db(conn).select_for_update()
        for acc in accounts:
            changed = []
            for col in SECRET_COLUMNS:
                token = getattr(acc, col)
                if token:
                    setattr(acc, col, vault.rotate_token(token))
                    changed.append(col)
                    count += 1
            if changed:
                await acc.save(using_db=conn, update_fields=changed)
    return count


async def check_readable(vault: Vault) -> None:
    """Fail fast at start-up when the master key cannot open the secrets already stored."""
    from db.models import ExchangeAccount

    acc = await ExchangeAccount.filter(api_key_enc__isnull=False).first()
    if acc is not None and acc.api_key_enc:
        vault.decrypt(acc.api_key_enc)


async def _main(argv: list[str]) -> int:
    from db.database import connect, disconnect

    if argv != ["rotate"]:
        print("usage: python -m db.vault rotate", file=sys.stderr)
        return 2
    config = AppConfig()
    try:
        vault = Vault(load_master_keys(config))
        await connect(config.DATABASE_URL)
        try:
            n = await rotate_all(vault)
        finally:
            await disconnect()
    except (ConfigError, VaultError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"re-encrypted {n} secrets with the newest master key")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(_main(sys.argv[1:])))
