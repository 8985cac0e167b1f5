"""Issue 14's budget at intake's submit: a command looks its customer's key up once, to compare the
customer's open requests and to seal the new one alike (each look-up is a round trip)."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.intake.adapters.queries import RequestQueries
from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.auth import Role
from shared.clock import FrozenClock
from shared.shredding import fields
from shared.shredding.keystore import PostgresKeyStore
from tests.api.conftest import MONDAY_10, request_body
from tests.support.app import as_role, serving
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
LOOK_UPS = ("key_for", "existing_key", "keys_for", "existing_keys")


async def test_a_submit_looks_its_customers_key_up_once_to_compare_and_to_seal(settings_for: Any, monkeypatch: Any):
    app = bootstrap(settings_for("intake", IntakeSettings), clock=FrozenClock(MONDAY_10))
    mark = uuid.uuid4().hex[:8]
    customer = {"id": f"cust-{mark}", "name": f"Kim {mark}", "phone": "+44 1632 960001", "email": f"kim.{mark}@example.com"}
    agent = as_role(Role.agent)
    async with serving(app) as client:
        first = await client.post("/v1/requests", headers=agent,
                                  json=request_body(customer=customer, title=f"Printer jams {mark}"))
        assert first.status_code == 201, first.text

        async def compared_next_time() -> bool:  # the comparison reads intake's read model
            listed = await client.get("/v1/requests", params={"customer_id": customer["id"]}, headers=agent)
            return len(listed.json()["items"]) == 1
        await until(compared_next_time)

        store, asked = app.state.intake.requests.keys.store, []
        for name in LOOK_UPS:  # a spy on the real store: each call still reaches PostgreSQL
            async def counted(conn: Any, customers: Any, _name: str = name, _real: Any = getattr(store, name)) -> Any:
                asked.append(_name)
                return await _real(conn, customers)
            setattr(store, name, counted)
        opened: list[str] = []

        def open_token(key: bytes, token: str) -> Any:
            opened.append(token)
            return real_open_token(key, token)
        real_open_token = fields.open_token
        monkeypatch.setattr(fields, "open_token", open_token)

        second = await client.post("/v1/requests", headers=agent,
                                   json=request_body(customer=customer, title=f"Printer jams again {mark}"))
        assert second.status_code == 201, second.text
        # Compared with the first (its sealed title opened), sealed, recorded: one look-up.
        assert [d["id"] for d in second.json()["possible_duplicates"]] == [first.json()["id"]]
        assert asked == ["keys_for"]
        assert opened == []  # the first one's title and description were kept opened as they were sealed


async def test_a_submit_begins_its_key_look_up_beside_the_reading_of_the_customers_open_requests(
        settings_for: Any, monkeypatch: Any):
    """Looked up one after the other, the two were two round trips' wait in every submit, and
    concurrent submits' look-ups gathered into more, smaller statements."""
    app = bootstrap(settings_for("intake", IntakeSettings), clock=FrozenClock(MONDAY_10))
    mark = uuid.uuid4().hex[:8]
    customer = {"id": f"cust-{mark}", "name": f"Kim {mark}", "phone": "+44 1632 960001", "email": f"kim.{mark}@example.com"}
    steps: list[str] = []
    real_rows, real_keys = RequestQueries.open_of_customers, PostgresKeyStore.keys_for

    async def rows(self: Any, conn: Any, customer_ids: Any) -> Any:
        steps.append("rows asked")
        found = await real_rows(self, conn, customer_ids)
        steps.append("rows answered")
        return found

    async def keys(self: Any, conn: Any, customer_ids: Any) -> Any:
        steps.append("key asked")
        return await real_keys(self, conn, customer_ids)
    monkeypatch.setattr(RequestQueries, "open_of_customers", rows)
    monkeypatch.setattr(PostgresKeyStore, "keys_for", keys)
    async with serving(app) as client:
        made = await client.post("/v1/requests", headers=as_role(Role.agent),
                                 json=request_body(customer=customer, title=f"Printer jams {mark}"))
    assert made.status_code == 201, made.text
    assert sorted(steps) == ["key asked", "rows answered", "rows asked"]
    assert steps.index("key asked") < steps.index("rows answered")
