"""The PostgreSQL pool's connections go back to it without a round trip of their own."""

from __future__ import annotations

from tortoise import Tortoise

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
