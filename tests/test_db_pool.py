"""The PostgreSQL pool's connections go back to it without a round trip of their own."""

from __future__ import annotations

import pytest
from tortoise import Tortoise
from tortoise.exceptions import IntegrityError

from tests.conftest import migrated_database


async def test_a_connection_goes_back_to_the_pool_without_a_reset_query_and_with_no_transaction_left(
        db_templates, tmp_path):
    async with migrated_database("postgres", db_templates, tmp_path, "pool") as url:
        client = Tortoise.get_connection(url.split(":", 1)[0])
        sent: list[str] = []

        def logged(record) -> None:
            sent.append(record.query)

        async with client.acquire_connection() as con:
            con.add_query_logger(logged)  # stays with the connection till it closes (a set: added once)
            assert await con.fetchval("SELECT 1") == 1
        # asyncpg's default reset (pg_advisory_unlock_all, CLOSE ALL, UNLISTEN *, RESET ALL) is a second round trip
        # for every query made outside a transaction; nothing of ours holds session state that it would clear
        assert sent == ["SELECT 1"]

        sent.clear()
        async with client.acquire_connection() as con:
            con.add_query_logger(logged)
            await con.execute("BEGIN")
        assert sent == ["BEGIN", "ROLLBACK"]  # a transaction left open is still rolled back on release


async def test_rows_written_together_outside_a_transaction_take_one_round_trip_and_stay_all_or_nothing(
        db_templates, tmp_path):
    from db.models import User
    from db.row_updates import update_rows

    async with migrated_database("postgres", db_templates, tmp_path, "pool") as url:
        client = Tortoise.get_connection(url.split(":", 1)[0])
        sent: list[str] = []
        async with client.acquire_connection() as con:  # the pool gives the last connection back first
            con.add_query_logger(lambda record: sent.append(record.query.split(" ", 1)[0]))
        await User.bulk_create([User(telegram_id=900 + i) for i in range(3)])
        users = await User.filter(telegram_id__gte=900).order_by("id")
        await update_rows(User, ["language"], [(u.id, ["ko"]) for u in users])
        # Tortoise wrapped each executemany in BEGIN ... COMMIT, two round trips more; asyncpg's is atomic itself
        assert sent == ["INSERT", "SELECT", "UPDATE"]
        assert set(await User.filter(telegram_id__gte=900).values_list("language", flat=True)) == {"ko"}

        with pytest.raises(IntegrityError):  # the second row breaks the unique id: the first is not written either
            await User.bulk_create([User(telegram_id=950), User(telegram_id=900)])
        assert not await User.filter(telegram_id=950).exists()


async def test_advisory_locks_are_taken_with_their_transaction_in_one_round_trip_and_given_back_in_one(
        db_templates, tmp_path, caplog):
    from engine.runtime.pg_locks import AdvisoryLocks

    async with migrated_database("postgres", db_templates, tmp_path, "pool") as url:
        locks = AdvisoryLocks(Tortoise.get_connection(url.split(":", 1)[0]), size=1)
        sent: list[str] = []
        async with locks._client.acquire_connection() as con:  # the lock pool's one connection
            con.add_query_logger(lambda record: sent.append(record.query))
            pid = con.get_server_pid()
        try:
            async with locks.hold_all([3, 1, 2]):
                # its own locks: the server's other sessions (another test's, another process's) may hold some too
                rows = await Tortoise.get_connection(url.split(":", 1)[0]).execute_query_dict(
                    "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $1", [pid])
                assert sorted(r["objid"] for r in rows) == [1, 2, 3]
            assert len(sent) == 2 and sent[0].startswith("BEGIN;") and "pg_advisory_xact_lock" in sent[0]
            assert sent[1] == "COMMIT"
            sent.clear()
            with pytest.raises(RuntimeError):  # a section that raises ends its transaction too
                async with locks.hold_all([4]):
                    raise RuntimeError("the section failed")
            assert sent[-1] == "ROLLBACK"
            # rolled back by the section itself, not left for the pool's reset, which logs it as an error
            assert not [r for r in caplog.records if "active transaction" in r.getMessage()]
            async with locks.hold_all([4]):  # and its lock is free again
                pass
        finally:
            await locks.close()
