"""Issue 14 at intake: erasure, what every view then shows, the access log, and retention."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.auth import Role
from shared.clock import FrozenClock
from tests.api.conftest import MONDAY_10, IntakeApi, request_body
from tests.support.app import as_role, serving
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
ERASED = "[erased]"
ADMIN = as_role(Role.admin, "admin-1")


def customer(mark: str) -> dict[str, str]:
    return {"id": f"cust-{mark}", "name": f"Erin {mark}", "phone": "+44 1632 960000", "email": f"erin.{mark}@example.com"}


async def test_an_erased_customer_reads_erased_everywhere_intake_shows_them(intake: IntakeApi):
    mark = uuid.uuid4().hex[:8]
    made = await intake.created(customer=customer(mark), title=f"Leak {mark}")
    other = await intake.created(title=f"Someone else's leak {mark}")
    request_id = made["id"]

    erased = await intake.client.post(f"/v1/customers/cust-{mark}/erasure", headers=ADMIN)
    assert erased.status_code == 200, erased.text
    assert erased.json() == {"customer_id": f"cust-{mark}", "erased_at": "2026-03-02T10:00:00Z", "erased_by": "admin-1"}
    again = await intake.client.post(f"/v1/customers/cust-{mark}/erasure", headers=ADMIN)
    assert (again.status_code, again.json()) == (200, erased.json())
    assert (await intake.client.post(f"/v1/customers/nobody-{mark}/erasure", headers=ADMIN)).status_code == 404
    assert (await intake.client.post(f"/v1/customers/cust-{mark}/erasure",
                                     headers=as_role(Role.agent))).status_code == 403

    view = (await intake.get(f"/v1/requests/{request_id}")).json()
    assert view["customer"] == {"id": f"cust-{mark}", "name": ERASED, "phone": ERASED, "email": ERASED}
    assert (view["title"], view["description"], view["location"]) == (ERASED, ERASED, ERASED)
    assert (await intake.get(f"/v1/requests/{other['id']}")).json()["title"] == f"Someone else's leak {mark}"

    async def listed_erased() -> bool:
        items = (await intake.get("/v1/requests", params={"customer_id": f"cust-{mark}"})).json()["items"]
        return [i["title"] for i in items] == [ERASED]
    await until(listed_erased)

    # The request goes on (its lifecycle is no personal data); what would record theirs is refused.
    key = {"Idempotency-Key": f"ack-{mark}"}
    acknowledged = await intake.client.post(f"/v1/requests/{request_id}/acknowledge", json={"message": "on it"},
                                            headers={**as_role(Role.agent), **key})
    assert acknowledged.status_code == 200 and acknowledged.json()["title"] == ERASED, acknowledged.text
    replayed = await intake.client.post(f"/v1/requests/{request_id}/acknowledge", json={"message": "on it"},
                                        headers={**as_role(Role.agent), **key})
    assert (replayed.status_code, replayed.json()) == (200, acknowledged.json())
    refused = await intake.client.patch(f"/v1/requests/{request_id}", headers=as_role(Role.agent),
                                        json={"title": "new", "reason": "asked"})
    assert refused.status_code == 409 and "erased" in refused.json()["detail"]
    again_submitted = await intake.submit(customer=customer(mark))
    assert again_submitted.status_code == 409 and "erased" in again_submitted.json()["detail"]


async def test_a_value_in_the_form_of_a_sealed_one_is_refused_naming_the_field(intake: IntakeApi):
    # Else it would pass for a value sealed already, and be stored as it is, in plain text.
    refused = await intake.submit(title="enc:v1:Y3VzdA.dGl0bGU.bm90IHNlYWxlZA")
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "title"
    refused = await intake.submit(customer={"id": "c-1", "name": " enc:v1:x"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "customer.name"


async def test_every_read_of_personal_data_is_on_record_without_the_data(intake: IntakeApi):
    mark = uuid.uuid4().hex[:8]
    made = await intake.created(customer=customer(mark), title=f"Boiler {mark}")

    async def projected() -> bool:
        return len((await intake.get("/v1/requests", params={"customer_id": f"cust-{mark}"})).json()["items"]) == 1
    await until(projected)
    # A second submit reads back what the caller sent, and the customer's alike open request.
    again = await intake.created(customer=customer(mark), title=f"Boiler {mark}")
    assert [d["id"] for d in again["possible_duplicates"]] == [made["id"]]
    await intake.get(f"/v1/requests/{made['id']}", subject="agent-9")
    await intake.get(f"/v1/requests/{made['id']}", role=Role.customer, subject=f"cust-{mark}")

    async def listed() -> bool:
        return len((await intake.get("/v1/requests", params={"customer_id": f"cust-{mark}"})).json()["items"]) == 2
    await until(listed)
    # Read once as agent-8 after the wait: a wait that polls more than once must not add entries.
    await intake.get("/v1/requests", subject="agent-8", params={"customer_id": f"cust-{mark}"})

    log = await intake.client.get(f"/v1/customers/cust-{mark}/access-log", headers=ADMIN)
    assert log.status_code == 200, log.text
    entries = every = log.json()["entries"]
    waits = ("test-agent", "GET /v1/requests")  # the waits above read as the default agent
    entries = [e for e in entries if (e["subject"], e["endpoint"]) != waits]
    assert [(e["subject"], e["role"], e["endpoint"]) for e in entries[:3]] == [
        ("agent-8", "agent", "GET /v1/requests"),
        (f"cust-{mark}", "customer", f"GET /v1/requests/{made['id']}"),
        ("agent-9", "agent", f"GET /v1/requests/{made['id']}")]
    assert entries[0]["fields"] == ["title"]
    assert set(entries[1]["fields"]) == {"title", "description", "location", "customer.name", "customer.phone",
                                         "customer.email"}
    assert [(e["endpoint"], e["service"], e["fields"]) for e in entries[3:]] == [
        ("POST /v1/requests", "intake", ["possible_duplicates.title"])]  # the first submit showed nothing stored
    assert mark not in str([{k: v for k, v in e.items() if k not in ("subject", "endpoint")} for e in entries])
    assert (await intake.client.get(f"/v1/customers/cust-{mark}/access-log", headers=as_role(Role.agent))).status_code == 403
    page = await intake.client.get(f"/v1/customers/cust-{mark}/access-log", headers=ADMIN, params={"limit": 2})
    rest = await intake.client.get(f"/v1/customers/cust-{mark}/access-log", headers=ADMIN,
                                   params={"before": page.json()["next_before"]})
    assert [e["id"] for e in page.json()["entries"] + rest.json()["entries"]] == [e["id"] for e in every]


async def test_retention_erases_customers_whose_requests_all_ended_long_enough_ago(settings_for):
    clock = FrozenClock(MONDAY_10)
    settings = settings_for("intake", IntakeSettings, retention_days=730, retention_poll_seconds=0.05)
    mark = uuid.uuid4().hex[:8]
    async with serving(bootstrap(settings, clock=clock)) as client:
        agent = as_role(Role.agent)
        ended = (await client.post("/v1/requests", headers=agent, json=request_body(customer=customer(f"a{mark}")))).json()
        assert (await client.post(f"/v1/requests/{ended['id']}/withdraw", headers=agent,
                                  json={"reason": "sorted itself out"})).status_code == 200
        still_open = (await client.post("/v1/requests", headers=agent, json=request_body(customer=customer(f"b{mark}")))).json()
        clock.advance(timedelta(days=2))
        later = (await client.post("/v1/requests", headers=agent, json=request_body(customer=customer(f"c{mark}")))).json()
        assert (await client.post(f"/v1/requests/{later['id']}/withdraw", headers=agent,
                                  json={"reason": "found another way"})).status_code == 200

        async def name_of(request_id: str) -> str:
            return (await client.get(f"/v1/requests/{request_id}", headers=agent)).json()["customer"]["name"]

        clock.advance(timedelta(days=729))  # 731 days after the first ended, 729 after the last

        async def erased() -> bool:
            return await name_of(ended["id"]) == ERASED
        await until(erased)
        # One round takes every customer due: those not erased with the first were not due.
        assert await name_of(still_open["id"]) == f"Erin b{mark}"  # an open request keeps its customer's data
        assert await name_of(later["id"]) == f"Erin c{mark}"  # ended 729 days ago: kept
        erasure = await client.post(f"/v1/customers/cust-a{mark}/erasure", headers=ADMIN)
        assert erasure.json()["erased_by"] == "retention"
