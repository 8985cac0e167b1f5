"""Issue 14: with the key store unreachable, commands that need a key answer 503 and nothing is
written, in plain text or at all; once it is back, the same command succeeds.

The key store's database is reached through the project's own TCP proxy (tests/chaos/proxy.py),
which the test stops and starts: the machine's PostgreSQL is never touched."""
from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.auth import Role
from shared.clock import FrozenClock
from shared.runtime.embedded import free_port
from tests.api.conftest import MONDAY_10, request_body
from tests.chaos.proxy import FaultyProxy
from tests.support.app import as_role, serving

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def test_without_the_key_store_a_command_needing_a_key_is_503_and_writes_nothing(settings_for, database_url):
    server = make_url(database_url)
    socket_dir = server.query.get("host")  # the embedded PostgreSQL: a Unix socket only
    socket = f"{socket_dir}/.s.PGSQL.{server.port or 5432}" if isinstance(socket_dir, str) else None
    proxy = FaultyProxy(free_port(), server.port or 5432, socket)
    await proxy.start()
    through_proxy = (server.difference_update_query(["host"]).set(host="127.0.0.1", port=proxy.listen_port)
                     .render_as_string(hide_password=False))
    settings = settings_for("intake", IntakeSettings, keystore_database_url=through_proxy)
    agent = as_role(Role.agent, "agent-k")
    mark = uuid.uuid4().hex[:8]
    body = request_body(customer={"id": f"cust-{mark}", "name": f"Keyless {mark}"}, title=f"Boiler {mark}")
    app = bootstrap(settings, clock=FrozenClock(MONDAY_10))
    async with serving(app) as client:
        made = await client.post("/v1/requests", json=request_body(), headers=agent)
        assert made.status_code == 201, made.text
        before = await events_stored(app, settings.schema_name)

        await proxy.stop()
        refused = await client.post("/v1/requests", json=body, headers=agent)
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json" and "retry-after" in refused.headers
        update = await client.patch(f"/v1/requests/{made.json()['id']}", headers=agent,
                                    json={"title": f"Boiler {mark} again", "reason": "clarified"})
        assert update.status_code == 503, update.text
        assert await events_stored(app, settings.schema_name) == before  # nothing at all, so nothing in plain text

        await proxy.start()
        accepted = await client.post("/v1/requests", json=body, headers=agent)
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["title"] == f"Boiler {mark}"
    await proxy.stop()


async def events_stored(app: FastAPI, schema: str) -> int:
    async with app.state.runtime.db.connect() as conn:
        return await conn.fetchval(f'SELECT count(*) FROM "{schema}".events')
