"""Start-up migrations: processes of one service starting together must not trip over each other."""
from __future__ import annotations

import asyncio
import sys
import time
import uuid

import pytest

from shared.db import Database
from tests.conftest import ROOT

pytestmark = pytest.mark.postgres

MIGRATE = """
import asyncio, sys, time
from pathlib import Path
from shared.db import Database
from shared.migrations import migrate

async def main():
    db = Database(sys.argv[1], pool_size=2)
    await asyncio.sleep(float(sys.argv[3]) - time.time())  # all start at once, as workers do
    await migrate(db.engine, Path("services/intake/adapters/migrations"), sys.argv[2])
    await db.dispose()

asyncio.run(main())
"""


async def test_processes_migrating_one_new_schema_at_once_all_succeed(database_url: str, db: Database):
    schema, start = f"m_{uuid.uuid4().hex[:10]}", str(time.time() + 4)
    processes = [await asyncio.create_subprocess_exec(sys.executable, "-c", MIGRATE, database_url, schema, start, cwd=ROOT,
                                                      stderr=asyncio.subprocess.PIPE) for _ in range(4)]
    outcomes = [(await p.wait(), (await p.stderr.read()).decode()[-400:]) for p in processes]  # type: ignore[union-attr]
    assert [o for o in outcomes if o[0] != 0] == []
    async with db.connect() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {schema}.alembic_version") == 1
        assert await conn.fetchval(f"SELECT to_regclass('{schema}.requests') IS NOT NULL")
