"""Intake's commands over HTTP against real PostgreSQL and the real broker: happy paths and errors."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from shared.auth import Role
from tests.api.conftest import IntakeApi, request_body
from tests.support.app import as_role
from tests.support.privacy import opened
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def stored_names(intake: IntakeApi, db, request_id: str) -> list[str]:  # noqa: ANN001
    async with db.connect() as conn:
        return [e.name for e in await intake.store.read_stream(conn, f"request-{request_id}")]


async def test_an_agent_submits_a_request_that_is_triaged_with_business_hour_deadlines(intake: IntakeApi, db):
    body = await intake.created()
    assert body["status"] == "triaged" and body["priority"] == "P3" and not body["emergency"]
    assert (body["respond_by"], body["resolve_by"]) == ("2026-03-03T10:00:00Z", "2026-03-05T10:00:00Z")
    assert body["owner"] == "test-agent" and body["triaged_by"] == "test-agent" and not body["needs_review"]
    assert body["sla_policy"] == "default-2026" and body["possible_duplicates"] == []
    assert await stored_names(intake, db, body["id"]) == ["RequestReceived", "RequestTriaged"]


@pytest.mark.parametrize("channel", ["phone", "email", "web", "chat", "walk_in", "internal"])
async def test_every_channel_is_accepted(intake: IntakeApi, channel: str):
    assert (await intake.created(channel=channel))["channel"] == channel


async def test_a_p1_takes_the_emergency_fast_track_round_the_clock(intake: IntakeApi):
    body = await intake.created(urgency="high", impact="high")
    assert body["priority"] == "P1" and body["emergency"] and body["respond_by"] == "2026-03-02T11:00:00Z"


async def test_an_unknown_category_is_refused_with_the_valid_ones(intake: IntakeApi):
    response = await intake.submit(category="fault > toaster")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "category"
    assert "fault > equipment > printer" in response.json()["detail"]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"customer": {"id": "c", "name": "A", "email": "not-an-email"}}, "customer.email"),
        ({"customer": {"id": "c", "name": "A", "phone": "call me"}}, "customer.phone"),
        ({"customer": {"id": "c", "name": ""}}, "customer.name"),
        ({"title": "x" * 201}, "title"),
        ({"description": "   "}, "description"),
        ({"urgency": "extreme"}, "urgency"),
        ({"impact": None}, "impact"),
        ({"channel": "fax"}, "channel"),
        ({"kind": "praise"}, "kind"),
        ({"location": "y" * 501}, "location"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_input_is_a_422_problem_naming_the_field(intake: IntakeApi, changes, field):
    response = await intake.submit(**changes)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]
    assert field in response.json()["detail"]


async def test_a_body_that_is_not_json_is_a_422_not_a_500(intake: IntakeApi):
    response = await intake.client.post("/v1/requests", content=b"{oops", headers={
        **as_role(Role.agent), "content-type": "application/json"})
    assert response.status_code == 422


async def test_customers_submit_for_themselves_only_and_wait_for_an_agent_to_triage(intake: IntakeApi):
    mine = request_body(channel="web")
    response = await intake.client.post("/v1/requests", json=mine, headers=as_role(Role.customer, mine["customer"]["id"]))
    assert response.status_code == 201
    assert response.json()["owner"] == "self-service" and response.json()["needs_review"]
    someone_else = await intake.submit(Role.customer, "cust-other")
    assert someone_else.status_code == 403


async def test_roles_without_the_right_are_refused(intake: IntakeApi):
    assert (await intake.submit(Role.analyst)).status_code == 403
    assert (await intake.client.post("/v1/requests", json=request_body())).status_code == 401
    created = await intake.created()
    assert (await intake.command(created["id"], "acknowledge", role=Role.customer,
                                 subject=created["customer"]["id"])).status_code == 403


async def test_a_customer_reads_only_their_own_requests(intake: IntakeApi):
    created = await intake.created()
    own = await intake.get(f"/v1/requests/{created['id']}", Role.customer, created["customer"]["id"])
    assert own.status_code == 200 and own.json()["id"] == created["id"]
    foreign = await intake.get(f"/v1/requests/{created['id']}", Role.customer, "cust-nosy")
    assert foreign.status_code == 404
    assert (await intake.get("/v1/requests/does-not-exist")).status_code == 404


async def test_a_retried_submit_returns_the_first_answer_and_records_once(intake: IntakeApi, db):
    body, key = request_body(), {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first, again = await asyncio.gather(*(intake.client.post("/v1/requests", json=body, headers={**as_role(Role.agent), **key})
                                          for _ in range(2)))
    third = await intake.client.post("/v1/requests", json=body, headers={**as_role(Role.agent), **key})
    assert first.status_code == again.status_code == third.status_code == 201
    assert first.json() == again.json() == third.json()
    assert third.headers.get("idempotent-replayed") == "true"
    assert await stored_names(intake, db, first.json()["id"]) == ["RequestReceived", "RequestTriaged"]
    changed = await intake.client.post("/v1/requests", json={**body, "title": "Other"}, headers={**as_role(Role.agent), **key})
    assert changed.status_code == 422 and "Idempotency-Key" in changed.json()["detail"]


async def test_a_similar_open_request_of_the_same_customer_is_pointed_out_without_blocking(intake: IntakeApi):
    first = await intake.created()
    customer = first["customer"]
    await until(lambda: _listed(intake, first["id"], customer["id"]))
    second = await intake.created(customer=customer, title="Printer jams again",
                                  description="Printer on floor 2 still jams on every page")
    (hint,) = second["possible_duplicates"]
    assert hint["id"] == first["id"] and hint["similarity"] >= 0.5
    unrelated = await intake.created(customer=customer, title="VPN is down", description="Cannot connect from home",
                                     category="fault > network > vpn")
    assert unrelated["possible_duplicates"] == []


async def _listed(intake: IntakeApi, request_id: str, customer_id: str) -> bool:
    page = await intake.get("/v1/requests", params={"customer_id": customer_id})
    return request_id in [r["id"] for r in page.json()["items"]]


async def test_acknowledging_answers_the_customer_once_and_never_a_withdrawn_request(intake: IntakeApi):
    created = await intake.created()
    intake.clock.advance(hours=2)
    ack = await intake.command(created["id"], "acknowledge", {"message": "We are on it"})
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    assert ack.json()["acknowledged_at"] == "2026-03-02T12:00:00Z"
    again = await intake.command(created["id"], "acknowledge")
    assert again.status_code == 409 and "acknowledged" in again.json()["detail"]
    withdrawn = await intake.created()
    assert (await intake.command(withdrawn["id"], "withdraw", {"reason": "sorted"})).status_code == 200
    refused = await intake.command(withdrawn["id"], "acknowledge")
    assert refused.status_code == 409 and "withdrawn" in refused.json()["detail"]
    assert (await intake.command("nope", "acknowledge")).status_code == 404


async def test_an_agent_retriages_a_request_and_its_deadlines_follow(intake: IntakeApi):
    created = await intake.created(urgency="low", impact="low")
    response = await intake.command(created["id"], "triage", {"urgency": "high", "impact": "high",
                                                               "category": "fault > network", "reason": "site down"})
    assert response.status_code == 200
    body = response.json()
    assert (body["priority"], body["category"], body["respond_by"]) == ("P1", "fault > network", "2026-03-02T11:00:00Z")
    assert (await intake.command(created["id"], "triage", {"category": "nope", "reason": "x"})).status_code == 422
    assert (await intake.command(created["id"], "triage", {"urgency": "high"})).status_code == 422


async def test_confirming_the_need_and_recording_contacts_are_kept(intake: IntakeApi, db):
    created = await intake.created()
    confirmed = await intake.command(created["id"], "need-confirmation",
                                     {"what": "replace the fuser", "where": "floor 2", "when": "Tuesday morning"})
    assert confirmed.status_code == 200 and confirmed.json()["need_confirmed_at"] == "2026-03-02T10:00:00Z"
    for via in ("call", "email"):
        contact = await intake.command(created["id"], "contacts", {"via": via, "direction": "outbound",
                                                                    "summary": "told the customer"})
        assert contact.status_code == 200
    assert contact.json()["contacts"] == 2
    bad = await intake.command(created["id"], "contacts", {"via": "pigeon", "direction": "outbound", "summary": "x"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "via"
    assert (await stored_names(intake, db, created["id"]))[2:] == ["NeedConfirmed", "ContactRecorded", "ContactRecorded"]


async def test_an_update_records_who_changed_what_and_why(intake: IntakeApi, db):
    created = await intake.created()
    response = await intake.client.patch(f"/v1/requests/{created['id']}", headers=as_role(Role.agent, "agent-5"),
                                         json={"title": "Printer jams on A3 only", "customer": {"phone": "+44 1 2345 6789"},
                                               "reason": "customer clarified"})
    assert response.status_code == 200
    assert response.json()["title"] == "Printer jams on A3 only" and response.json()["customer"]["phone"] == "+44 1 2345 6789"
    assert response.json()["version"] == 3
    async with db.connect() as conn:
        updated = (await intake.store.read_stream(conn, f"request-{created['id']}"))[-1]
    assert updated.name == "RequestUpdated" and updated.data["updated_by"] == "agent-5"
    assert updated.data["changes"] == {}  # the title, as the phone, is the customer's: sealed
    assert set(updated.data["personal_changes"]) == {"title", "customer.phone"}
    assert "Printer jams" not in str(updated.data) and "2345" not in str(updated.data)
    personal = await opened(intake.settings, updated.data["personal_changes"])
    assert personal["title"] == {"before": "Printer jams on every page", "after": "Printer jams on A3 only"}
    unchanged = await intake.client.patch(f"/v1/requests/{created['id']}", headers=as_role(Role.agent),
                                          json={"title": "Printer jams on A3 only", "reason": "same"})
    assert unchanged.status_code == 200 and unchanged.json()["version"] == 3
    no_reason = await intake.client.patch(f"/v1/requests/{created['id']}", headers=as_role(Role.agent), json={"title": "x"})
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"


async def test_a_customer_withdraws_their_own_request_but_not_anothers(intake: IntakeApi):
    created = await intake.created()
    customer = created["customer"]["id"]
    assert (await intake.command(created["id"], "withdraw", {"reason": "x"}, Role.customer, "cust-nosy")).status_code == 404
    response = await intake.command(created["id"], "withdraw", {"reason": "fixed it myself"}, Role.customer, customer)
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    assert (await intake.command(created["id"], "withdraw", {"reason": "again"}, Role.customer, customer)).status_code == 409
    assert (await intake.command(created["id"], "withdraw", {})).status_code == 422


async def test_a_duplicate_is_merged_into_the_open_request_of_the_same_customer(intake: IntakeApi):
    original = await intake.created()
    duplicate = await intake.created(customer=original["customer"])
    merged = await intake.command(duplicate["id"], "merge", {"into": original["id"], "reason": "same printer"})
    assert merged.status_code == 200 and merged.json()["status"] == "merged"
    assert merged.json()["merged_into"] == original["id"]
    stranger = await intake.created()
    other = await intake.created(customer=original["customer"])
    assert (await intake.command(other["id"], "merge", {"into": stranger["id"], "reason": "x"})).status_code == 422
    assert (await intake.command(other["id"], "merge", {"into": "missing", "reason": "x"})).status_code == 404
    assert (await intake.command(other["id"], "merge", {"into": other["id"], "reason": "x"})).status_code == 422
    assert (await intake.command(other["id"], "merge", {"into": duplicate["id"], "reason": "x"})).status_code == 409


async def test_concurrent_changes_to_one_request_are_all_kept(intake: IntakeApi):
    created = await intake.created()
    contacts = [intake.command(created["id"], "contacts", {"via": "call", "direction": "inbound", "summary": f"call {i}"})
                for i in range(5)]
    edits = [intake.client.patch(f"/v1/requests/{created['id']}", headers=as_role(Role.agent),
                                 json={field: value, "reason": "detail"})
             for field, value in (("title", "New title"), ("description", "New description"), ("location", "Floor 3"))]
    responses = await asyncio.gather(*contacts, *edits)
    assert [r.status_code for r in responses] == [200] * 8  # each retried past the others, none lost
    final = (await intake.get(f"/v1/requests/{created['id']}")).json()
    assert final["contacts"] == 5 and final["version"] == 2 + 8
    assert (final["title"], final["description"], final["location"]) == ("New title", "New description", "Floor 3")


async def test_a_retried_command_with_the_same_key_is_applied_once(intake: IntakeApi):
    created = await intake.created()
    key = {"Idempotency-Key": f"contact-{uuid.uuid4()}"}
    body = {"via": "call", "direction": "inbound", "summary": "customer rang"}
    first, second = await asyncio.gather(*(intake.client.post(
        f"/v1/requests/{created['id']}/contacts", json=body, headers={**as_role(Role.agent), **key}) for _ in range(2)))
    assert first.status_code == second.status_code == 200
    final = (await intake.get(f"/v1/requests/{created['id']}")).json()
    assert final["contacts"] == 1
    other_request = await intake.created()
    elsewhere = await intake.client.post(f"/v1/requests/{other_request['id']}/contacts", json=body,
                                         headers={**as_role(Role.agent), **key})
    assert elsewhere.status_code == 200 and elsewhere.json()["contacts"] == 1


async def test_answers_follow_their_documented_schemas(intake: IntakeApi):
    from services.intake.entrypoints import schemas

    created = await intake.created()
    assert set(created) == set(schemas.SubmittedView.model_fields)
    schemas.SubmittedView.model_validate(created, strict=False)
    read = (await intake.get(f"/v1/requests/{created['id']}")).json()
    assert set(read) == set(schemas.RequestView.model_fields)
    assert schemas.RequestView.model_validate(read).received_at.isoformat() == "2026-03-02T10:00:00+00:00"
    documented = (await intake.client.get("/openapi.json")).json()["paths"]["/v1/requests"]["post"]
    assert "SubmittedView" in str(documented["responses"]["201"])
