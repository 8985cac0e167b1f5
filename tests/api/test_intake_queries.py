"""Intake's reads over HTTP (search, queues, SLA flags) and its event contract on the real broker."""
from __future__ import annotations

import json
import re
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.auth import Role
from shared.contracts import dispatch, feedback
from shared.contracts import intake as intake_contract
from shared.envelope import Envelope
from shared.shredding.crypto import is_sealed
from tests.api.conftest import MONDAY_10, IntakeApi
from tests.support.events import published
from tests.support.kafka import create_topics, header, produce, read_topic
from tests.support.privacy import opened
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

PROBLEM = "application/problem+json"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def customer(customer_id: str) -> dict[str, str]:
    return {"id": customer_id, "name": "Ada Lovelace", "email": "ada@example.com"}


async def submit_for(intake: IntakeApi, customer_id: str, **changes: Any) -> str:
    return (await intake.created(customer=customer(customer_id), **changes))["id"]


async def search(intake: IntakeApi, role: Role = Role.agent, subject: str | None = None, **params: Any) -> list[dict]:
    response = await intake.get("/v1/requests", role, subject, params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def search_ids(intake: IntakeApi, **params: Any) -> list[str]:
    return [item["id"] for item in await search(intake, **params)]


async def queue(intake: IntakeApi, name: str) -> list[dict]:
    response = await intake.get(f"/v1/queues/{name}", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return response.json()


async def queue_ids(intake: IntakeApi, name: str) -> list[str]:
    return [item["id"] for item in await queue(intake, name)]


async def projected(intake: IntakeApi, customer_id: str, ids: list[str]) -> None:
    """Wait until the read model holds these (triaged) requests of the customer."""
    async def check() -> bool:
        items = {i["id"]: i for i in await search(intake, customer_id=customer_id)}
        return all(i in items and items[i]["priority"] is not None for i in ids)
    await until(check)


async def request(intake: IntakeApi, request_id: str) -> dict:
    response = await intake.get(f"/v1/requests/{request_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def status_is(intake: IntakeApi, customer_id: str, request_id: str, status: str) -> bool:
    return any(i["id"] == request_id and i["status"] == status for i in await search(intake, customer_id=customer_id))


async def absent(intake: IntakeApi, name: str, *request_ids: str) -> bool:
    ids = set(await queue_ids(intake, name))
    return not ids & set(request_ids)


async def reopen_reasons(intake: IntakeApi, db, request_id: str) -> list[str]:  # noqa: ANN001
    async with db.connect() as conn:
        stream = await intake.store.read_stream(conn, f"request-{request_id}")
    reasons = [e.data["reason"] for e in stream if e.name == "RequestReopened"]
    assert all(is_sealed(r) for r in reasons)  # the customer's words rest sealed
    return await opened(intake.settings, reasons)


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_each_search_filter_narrows_the_results(intake: IntakeApi):
    cid, owner = unique("cust"), unique("agent")
    p1 = await submit_for(intake, cid, urgency="high", impact="high")  # 10:00, phone, printer
    intake.clock.advance(minutes=5)
    p4 = await submit_for(intake, cid, urgency="low", impact="low", channel="email",
                          category="fault > network > vpn")  # 10:05
    intake.clock.advance(minutes=5)
    response = await intake.submit(Role.agent, owner, customer=customer(cid), channel="web")  # 10:10, P3
    assert response.status_code == 201, response.text
    p3 = response.json()["id"]
    intake.clock.advance(minutes=5)
    acked = await submit_for(intake, cid, channel="chat")  # 10:15, P3
    assert (await intake.command(acked, "acknowledge", {"message": "on it"})).status_code == 200
    await projected(intake, cid, [p1, p4, p3, acked])
    await until(lambda: status_is(intake, cid, acked, "acknowledged"))

    assert await search_ids(intake, customer_id=cid) == [acked, p3, p4, p1]  # newest first
    assert await search_ids(intake, customer_id=cid, status="acknowledged") == [acked]
    assert await search_ids(intake, customer_id=cid, status="triaged") == [p3, p4, p1]
    assert await search_ids(intake, customer_id=cid, priority="P1") == [p1]
    assert await search_ids(intake, customer_id=cid, priority="P4") == [p4]
    assert await search_ids(intake, customer_id=cid, priority="P3") == [acked, p3]
    assert await search_ids(intake, customer_id=cid, priority="P2") == []
    assert await search_ids(intake, customer_id=cid, channel="email") == [p4]
    assert await search_ids(intake, customer_id=cid, channel="walk_in") == []
    assert await search_ids(intake, customer_id=cid, category="fault > equipment") == [acked, p3, p1]
    assert await search_ids(intake, customer_id=cid, category="fault > network") == [p4]
    assert await search_ids(intake, customer_id=cid, category="fault") == [acked, p3, p4, p1]
    assert await search_ids(intake, customer_id=cid, category="consultation") == []
    assert await search_ids(intake, owner=owner) == [p3]
    window = {"from": iso(MONDAY_10 + timedelta(minutes=3)), "to": iso(MONDAY_10 + timedelta(minutes=12))}
    assert await search_ids(intake, customer_id=cid, **window) == [p3, p4]
    assert await search_ids(intake, customer_id=cid, **{"from": iso(MONDAY_10 + timedelta(minutes=12))}) == [acked]
    assert await search_ids(intake, customer_id=cid, to=iso(MONDAY_10 + timedelta(minutes=3))) == [p1]
    assert await search_ids(intake, customer_id=cid, status="triaged", category="fault > equipment",
                            **window) == [p3]
    assert await search_ids(intake, customer_id=cid, channel="phone", priority="P1") == [p1]
    assert await search_ids(intake, customer_id=cid, channel="phone", priority="P4") == []
    assert await search_ids(intake, owner=owner, customer_id=cid, priority="P3", channel="web") == [p3]


async def test_paging_with_the_cursor_returns_every_request_once_newest_first(intake: IntakeApi):
    cid = unique("cust")
    submitted = []
    for _ in range(7):
        submitted.append(await submit_for(intake, cid))
        intake.clock.advance(minutes=1)
    await projected(intake, cid, submitted)

    pages, cursor = [], None
    while True:
        params = {"customer_id": cid, "limit": 3, **({"cursor": cursor} if cursor else {})}
        response = await intake.get("/v1/requests", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([i["id"] for i in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 5, "the cursor never ran out"
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i in p] == list(reversed(submitted))


async def test_a_customer_searches_only_their_own_requests(intake: IntakeApi):
    mine, theirs = unique("cust"), unique("cust")
    own = (await intake.created(role=Role.customer, subject=mine, customer=customer(mine), channel="web"))["id"]
    other = await submit_for(intake, theirs)
    await projected(intake, mine, [own])
    await projected(intake, theirs, [other])

    for params in ({}, {"customer_id": theirs}):
        items = await search(intake, Role.customer, mine, **params)
        assert [i["id"] for i in items] == [own]
        assert {i["customer_id"] for i in items} == {mine}
    analyst = await intake.get("/v1/requests", Role.analyst)
    assert analyst.status_code == 403 and analyst.headers["content-type"] == PROBLEM
    anonymous = await intake.client.get("/v1/requests")
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == PROBLEM


@pytest.mark.parametrize("params, field", [
    ({"cursor": "definitely-not-a-cursor"}, "cursor"),
    ({"limit": 0}, "limit"),
    ({"limit": 501}, "limit"),
    ({"status": "lost"}, "status"),
    ({"priority": "P9"}, "priority"),
    ({"category": "fault > toaster"}, "category"),
    ({"from": "last tuesday"}, "from"),
])
async def test_bad_search_input_is_a_problem_naming_the_field(intake: IntakeApi, params: dict, field: str):
    response = await intake.get("/v1/requests", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 422 and [e["field"] for e in body["errors"]] == [field]
    assert field in body["detail"]
    if field == "category":
        assert "fault > equipment > printer" in body["detail"] and "fault > network > vpn" in body["detail"]


async def test_the_awaiting_response_queue_is_ordered_by_priority_then_deadline(intake: IntakeApi):
    cid = unique("cust")
    p4 = await submit_for(intake, cid, urgency="low", impact="low")
    p2 = await submit_for(intake, cid, urgency="high", impact="medium")
    intake.clock.advance(hours=1)
    p3_late = await submit_for(intake, cid)  # respond by Tue 11:00
    intake.clock.set(MONDAY_10 + timedelta(minutes=30))
    p3_early = await submit_for(intake, cid)  # respond by Tue 10:30
    acked, withdrawn = await submit_for(intake, cid, urgency="high", impact="high"), await submit_for(intake, cid)
    await projected(intake, cid, [p4, p2, p3_late, p3_early, acked, withdrawn])

    ids = await queue_ids(intake, "awaiting-response")
    assert [i for i in ids if i in {p4, p2, p3_late, p3_early}] == [p2, p3_early, p3_late, p4]
    assert acked in ids and withdrawn in ids

    assert (await intake.command(acked, "acknowledge", {"message": "on it"})).status_code == 200
    assert (await intake.command(withdrawn, "withdraw", {"reason": "fixed itself"})).status_code == 200
    await until(lambda: absent(intake, "awaiting-response", acked, withdrawn))
    ids = await queue_ids(intake, "awaiting-response")
    assert [i for i in ids if i in {p4, p2, p3_late, p3_early}] == [p2, p3_early, p3_late, p4]


async def test_response_sla_flags_follow_the_clock(intake: IntakeApi):
    cid = unique("cust")
    p2 = await intake.created(customer=customer(cid), urgency="high", impact="medium")
    assert p2["priority"] == "P2" and p2["respond_by"] == "2026-03-02T14:00:00Z"
    await projected(intake, cid, [p2["id"]])

    async def flags() -> tuple[bool, bool]:
        [item] = await search(intake, customer_id=cid)
        in_queue = [i for i in await queue(intake, "awaiting-response") if i["id"] == p2["id"]]
        assert len(in_queue) == 1
        assert (in_queue[0]["response_at_risk"], in_queue[0]["response_breached"]) == (
            item["response_at_risk"], item["response_breached"])
        return item["response_at_risk"], item["response_breached"]

    expectations = [((12, 0), (False, False)), ((12, 59), (False, False)), ((13, 1), (True, False)),
                    ((14, 0), (True, False)), ((14, 1), (True, True))]
    for (hour, minute), expected in expectations:
        intake.clock.set(MONDAY_10.replace(hour=hour, minute=minute))
        assert await flags() == expected, f"at {hour:02}:{minute:02}"

    assert (await intake.command(p2["id"], "acknowledge", {"message": "late, sorry"})).status_code == 200
    await until(lambda: status_is(intake, cid, p2["id"], "acknowledged"))
    [item] = await search(intake, customer_id=cid)
    assert (item["response_at_risk"], item["response_breached"]) == (False, False)


async def test_the_triage_queue_holds_what_no_agent_has_triaged(intake: IntakeApi):
    cid = unique("cust")
    self_service = (await intake.created(role=Role.customer, subject=cid, customer=customer(cid),
                                         channel="web"))["id"]
    categorised = await submit_for(intake, cid)
    uncategorised = await submit_for(intake, cid, category=None)
    await projected(intake, cid, [self_service, categorised, uncategorised])

    items = {i["id"]: i for i in await queue(intake, "triage")}
    assert self_service in items and uncategorised in items and categorised not in items
    assert items[self_service]["needs_review"] is True and items[uncategorised]["needs_review"] is True

    triaged = await intake.command(self_service, "triage", {"reason": "checked"}, Role.agent, "agent-ted")
    assert triaged.status_code == 200, triaged.text
    assert triaged.json()["needs_review"] is False and triaged.json()["triaged_by"] == "agent-ted"
    await until(lambda: absent(intake, "triage", self_service))
    assert uncategorised in await queue_ids(intake, "triage")


def resolved_then_rejected(request_id: str, round_: int, reason: str) -> tuple[list[Envelope], Envelope]:
    """Dispatch allocating and resolving the job, then the customer rejecting it, as published."""
    start = datetime.now(timezone.utc) + timedelta(minutes=10 * round_)
    work = [published(dispatch.ResourceAllocated(request_id=request_id, resource_id="tech-1", strategy="auto",
                                                 allocated_by="dispatch", allocated_at=start), 2 * round_, "job",
                      start),
            published(dispatch.IssueResolved(request_id=request_id, resource_id="tech-1", resolution_code="fixed",
                                             summary="done", resolved_at=start), 2 * round_ + 1, "job",
                      start + timedelta(minutes=1))]
    at = start + timedelta(minutes=2)
    return work, published(feedback.ResolutionRejected(request_id=request_id, reason=reason, rejected_by="customer",
                                                       rejected_at=at), 2 * round_, "closure", at)


async def test_a_rejected_resolution_reopens_the_request_once_per_event(intake: IntakeApi, broker, db):
    await create_topics(broker.bootstrap, "dispatch.events", "feedback.events")
    request_id = (await intake.created())["id"]
    work, first = resolved_then_rejected(request_id, 1, "still broken")
    await produce(broker.bootstrap, "dispatch.events", work)
    await until(lambda: detail_says(intake, request_id, "resolved"))
    await produce(broker.bootstrap, "feedback.events", [first])

    async def reopened(count: int) -> bool:
        body = await request(intake, request_id)
        return body["status"] == "reopened" and body["reopen_count"] == count
    await until(lambda: reopened(1))

    work, second = resolved_then_rejected(request_id, 2, "broken again")
    await produce(broker.bootstrap, "dispatch.events", work)
    await until(lambda: detail_says(intake, request_id, "resolved"))
    await produce(broker.bootstrap, "feedback.events", [first, second])  # a redelivery, then a new one
    async def reopened_twice() -> bool:
        return len(await reopen_reasons(intake, db, request_id)) >= 2
    await until(reopened_twice)  # the redelivered first event, if applied, would be the second reopening
    assert await reopen_reasons(intake, db, request_id) == ["still broken", "broken again"]
    body = await request(intake, request_id)
    assert (body["status"], body["reopen_count"]) == ("reopened", 2)


async def detail_says(intake: IntakeApi, request_id: str, status: str) -> bool:
    return (await request(intake, request_id))["status"] == status


async def test_a_request_closed_by_feedback_can_no_longer_be_withdrawn(intake: IntakeApi, broker):
    await create_topics(broker.bootstrap, "feedback.events")
    cid = unique("cust")
    request_id = await submit_for(intake, cid)
    await projected(intake, cid, [request_id])
    now = datetime.now(timezone.utc)
    closed = feedback.RequestClosed(request_id=request_id, how="auto", closed_at=now)
    await produce(broker.bootstrap, "feedback.events", [published(closed, 1, "closure", now)])

    async def closed_in_list() -> bool:
        return [i["status"] for i in await search(intake, customer_id=cid)] == ["closed"]
    await until(closed_in_list)
    response = await intake.command(request_id, "withdraw", {"reason": "never mind"})
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == PROBLEM and "closed" in response.json()["detail"]
    assert (await request(intake, request_id))["status"] == "closed"


async def test_published_events_carry_the_contract_envelope(intake: IntakeApi, broker):
    correlation = str(uuid.uuid4())
    response = await intake.submit(headers={"X-Correlation-Id": correlation})
    assert response.status_code == 201, response.text
    request_id = response.json()["id"]

    mine: list = []
    deadline = time.monotonic() + 30
    while len(mine) < 2 and time.monotonic() < deadline:
        records = await read_topic(broker.bootstrap, "intake.events", at_least=10**9, timeout=2)
        mine = [r for r in records if r.key == request_id.encode()]
    assert [header(r, "ce_type") for r in mine] == [
        intake_contract.registry.type_of_class(intake_contract.RequestReceived),
                intake_contract.registry.type_of_class(intake_contract.RequestTriaged)]
    assert [header(r, "ce_streamversion") for r in mine] == ["1", "2"]
    assert len({header(r, "ce_id") for r in mine}) == 2
    for record in mine:
        assert header(record, "ce_specversion") == "1.0"
        assert header(record, "ce_source") == "/servicetrail/intake"
        assert header(record, "ce_subject") == request_id
        assert header(record, "ce_correlationid") == correlation
        assert header(record, "content-type") == "application/json"
        assert str(uuid.UUID(header(record, "ce_id"))) == header(record, "ce_id")
        assert (header(record, "ce_streamid") or "").endswith(request_id)
        stamp = header(record, "ce_time") or ""
        assert RFC3339.match(stamp), stamp
        assert datetime.fromisoformat(stamp.replace("Z", "+00:00")) == MONDAY_10
        assert json.loads(record.value)["request_id"] == request_id
    assert len({header(r, "ce_streamid") for r in mine}) == 1
    assert json.loads(mine[1].value)["priority"] == "P3"
