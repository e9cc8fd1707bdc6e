"""`python -m db.make_migration NAME`: one Aerich migration carrying both SQLite and PostgreSQL SQL.

Aerich writes SQL for the dialect it runs against; we run it against a scratch SQLite file and a scratch
PostgreSQL database (both first brought to the current head), then merge both into one file whose
`upgrade(db)` picks by dialect. Needs a reachable PostgreSQL (TB_MIGRATION_POSTGRES_URL, default local).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import asyncpg
from aerich import Command
from aerich.migrate import Migrate
from tortoise.context import TortoiseContext

from db.database import MIGRATIONS, migrate, tortoise_config

PG_ADMIN = os.environ.get("TB_MIGRATION_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")

TEMPLATE = '''"""{doc}"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_SQLITE_UP = r"""{sqlite_up}"""

_POSTGRES_UP = r"""{pg_up}"""

_SQLITE_DOWN = r"""{sqlite_down}"""

_POSTGRES_DOWN = r"""{pg_down}"""


def _is_postgres(db: BaseDBAsyncClient) -> bool:
    return db.capabilities.dialect == "postgres"


async def upgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_UP if _is_postgres(db) else _SQLITE_UP


async def downgrade(db: BaseDBAsyncClient) -> str:
    return _POSTGRES_DOWN if _is_postgres(db) else _SQLITE_DOWN


MODELS_STATE = ({state})
'''


def _body(text: str, fn: str) -> str:
    m = re.search(rf'async def {fn}\(db: BaseDBAsyncClient\) -> str:\n    return """(.*?)"""', text, re.S)
    if not m:
        raise SystemExit(f"could not read {fn}() from the generated migration")
    return m.group(1)


def _reset_aerich() -> None:
    """Aerich keeps the statements of a diff in class attributes: without this, the SQLite run's statements
    were written again into the PostgreSQL migration."""
    for name in ("upgrade_operators", "downgrade_operators", "_upgrade_fk_m2m_index_operators",
                 "_downgrade_fk_m2m_index_operators", "_upgrade_m2m", "_downgrade_m2m"):
        setattr(Migrate, name, [])
    Migrate._rename_fields = {}


async def _generate(url: str, work: Path, name: str) -> Path | None:
    _reset_aerich()
    shutil.copytree(MIGRATIONS, work, dirs_exist_ok=True)
    await migrate(url)
    async with TortoiseContext(), Command(tortoise_config(url), app="models", location=str(work)) as cmd:
        await cmd.init()
        made = await cmd.migrate(name)
    return (work / "models" / made) if made else None


async def main(name: str) -> int:
    pg_name = f"tb_make_migration_{os.getpid()}"
    base = PG_ADMIN.rsplit("/", 1)[0]
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{pg_name}"')
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            sq = await _generate(f"sqlite://{t / 'scratch.sqlite3'}", t / "sqlite", name)
            pg = await _generate(f"{base}/{pg_name}", t / "postgres", name)
            if not sq or not pg:
                print("no model changes: nothing to migrate")
                return 0
            sq_text, pg_text = sq.read_text(), pg.read_text()
            state = re.search(r"MODELS_STATE = \((.*)\)\s*$", pg_text, re.S).group(1)
            out = Path(MIGRATIONS) / "models" / pg.name
            out.write_text(
                TEMPLATE.format(
                    doc=f"Migration {name} (both dialects).",
                    sqlite_up=_body(sq_text, "upgrade"), pg_up=_body(pg_text, "upgrade"),
                    sqlite_down=_body(sq_text, "downgrade"), pg_down=_body(pg_text, "downgrade"), state=state,
                )
            )
            print(f"wrote {out}")
            return 0
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not re.fullmatch(r"[a-z0-9_]+", sys.argv[1]):
        print("usage: python -m db.make_migration name_in_snake_case", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1])))
