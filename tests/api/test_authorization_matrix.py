"""The authorization matrix: every operation of every service's OpenAPI × every role (and no token)
× own / a stranger's object (/ one still awaiting approval) where ownership applies → the status
its rule expects.

Each service's real app runs in-process (tests/api/conftest.py). Per operation, fresh objects are
made where a command could change who owns them (a declined job is no longer the technician's),
and the owner calls first. The rules are in authorization_rules.py; a route without one fails here.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable

import httpx
import pytest

from shared.auth import Role
from shared.contracts import dispatch
from tests.api import authorization_rules as rules
from tests.api.analytics_support import analytics_app
from tests.api.conftest import IntakeApi
from tests.api.dispatch_support import DispatchApi
from tests.api.test_feedback import resolved_request
from tests.support.app import as_role
from tests.support.events import published
from tests.support.history import History, Journey
from tests.support.kafka import create_topics, produce
from tests.support.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]
Op = tuple[str, str]
ALLOWED = frozenset({200, 201, 202, 204, 409})  # the route's own answer; 409 in a state that forbids it


@dataclass
class Case:
    """One operation's objects: by relation to the owner role ("own", "foreign", "pending"), and the
    owner role's subject for each (the foreign object is called with the "own" subject)."""
    own: rules.Target
    foreign: rules.Target
    subject: str
    pending: rules.Target | None = None
    pending_subject: str = ""
    holder_subject: str = ""  # who holds the own object's work, for a rule with a holder role


Prepare = Callable[[Op], Awaitable[Case]]


async def operations(client: httpx.AsyncClient) -> list[Op]:
    """Every operation the service publishes in its OpenAPI (what app.openapi() answers)."""
    response = await client.get("/openapi.json")
    assert response.status_code == 200, response.text
    methods = ("get", "post", "put", "patch", "delete")
    return [(m.upper(), path) for path, item in response.json()["paths"].items() for m in item if m in methods]


def expected(rule: rules.Rule, role: Role | None, whose: str) -> frozenset[int] | None:
    """The statuses allowed for this call; None: anything but 401, 403 and 5xx (public routes)."""
    if rule.public:
        return None
    if role is None:
        return frozenset({401})
    if role is not Role.admin and role not in rule.roles:
        return frozenset({403})
    if role in (rule.owner, rule.holder) and whose == "foreign":
        return frozenset({rule.foreign})
    if role is rule.owner and whose == "pending":
        return ALLOWED - {409} if rule.pending == 200 else frozenset({rule.pending})
    return ALLOWED


def calls(rule: rules.Rule, case: Case) -> list[tuple[Role | None, str, rules.Target, str | None]]:
    """(role, relation, object, subject): the owner role first, while the object is still theirs."""
    found: list[tuple[Role | None, str, rules.Target, str | None]] = []
    if rule.owner is not None:
        found += [(rule.owner, "own", case.own, case.subject), (rule.owner, "foreign", case.foreign, case.subject)]
        if rule.pending is not None and case.pending is not None:
            found.append((rule.owner, "pending", case.pending, case.pending_subject))
    if rule.holder is not None:
        found += [(rule.holder, "own", case.own, case.holder_subject),
                  (rule.holder, "foreign", case.foreign, case.holder_subject)]
    found += [(role, "own", case.own, None) for role in Role if role not in (rule.owner, rule.holder)]
    return [*found, (None, "own", case.own, None)]


async def matrix(client: httpx.AsyncClient, table: dict[Op, rules.Rule], prepare: Prepare) -> None:
    ops = await operations(client)
    assert not set(ops) - set(table), f"routes without an authorization rule: {sorted(set(ops) - set(table))}"
    assert not set(table) - set(ops), f"rules for routes that do not exist: {sorted(set(table) - set(ops))}"
    wrong = []
    for op in ops:
        rule = table[op]
        case = await prepare(op)
        for role, whose, target, subject in calls(rule, case):
            headers = as_role(role, subject) if role is not None else {}
            response = await client.request(op[0], op[1].format(**target), headers=headers,
                                            json=rule.body_for(target))
            want, got = expected(rule, role, whose), response.status_code
            if (got not in want) if want is not None else (got in (401, 403) or got >= 500):
                who = role.value if role else "no token"
                wrong.append(f"{op[0]} {op[1]} as {who} ({whose}): {got}, expected {sorted(want or [])} "
                             f"{response.text[:150]}")
    assert not wrong, "\n".join(wrong)


async def test_intake(intake: IntakeApi, broker):  # noqa: ANN001
    await create_topics(broker.bootstrap, "dispatch.events")

    async def prepare(op: Op) -> Case:
        mine, theirs = f"cust-{uuid.uuid4().hex[:8]}", f"cust-{uuid.uuid4().hex[:8]}"
        ids = [(await intake.created(customer={"id": c, "name": "Ann Example"}))["id"] for c in (mine, mine, theirs)]
        technician = ""
        if rules.INTAKE[op].holder is not None:  # dispatch gives the own request's job to a technician
            technician = f"tech-{uuid.uuid4().hex[:8]}"
            now = datetime.now(timezone.utc)
            await produce(broker.bootstrap, "dispatch.events", [published(dispatch.ResourceAllocated(
                request_id=ids[0], resource_id=technician, strategy="auto", allocated_by="dispatch", allocated_at=now),
                2, "job", now)])
            await until(lambda: held(intake, ids[0], technician))
        return Case({"request_id": ids[0], "customer": mine, "customer_id": mine, "into": ids[1], "name": "requests"},
                    {"request_id": ids[2], "customer": theirs, "customer_id": theirs, "into": ids[1], "name": "requests"},
                    mine,
                    holder_subject=technician)

    await matrix(intake.client, rules.INTAKE, prepare)


async def held(intake: IntakeApi, request_id: str, technician: str) -> bool:
    return (await intake.get(f"/v1/requests/{request_id}", Role.technician, technician)).status_code == 200


async def test_dispatch(dispatch: DispatchApi):
    mine, theirs = f"skill{uuid.uuid4().hex[:8]}", f"skill{uuid.uuid4().hex[:8]}"
    tech = (await dispatch.resource(mine, capacity=50))["id"]
    stranger = (await dispatch.resource(theirs, capacity=50))["id"]
    jobs = [await dispatch.triage(mine) for op in rules.DISPATCH if "{request_id}" in op[1]]
    foreign_job, awaiting = await dispatch.triage(theirs), await dispatch.triage(mine)
    for job in (*jobs, foreign_job, awaiting):
        await dispatch.job(job, "allocated")
    partner = (await dispatch.resource(mine, kind="partner", capacity=5))["id"]
    requested = await dispatch.call("POST", f"/v1/jobs/{awaiting}/allocate",
                                    json={"resource_id": partner, "reason": "needs the vendor"})
    assert requested.json()["status"] == "awaiting_approval", requested.text

    async def prepare(op: Op) -> Case:
        job = jobs.pop() if "{request_id}" in op[1] else foreign_job  # a fresh job of the technician's
        return Case({"request_id": job, "resource_id": tech, "name": "tables"},
                    {"request_id": foreign_job, "resource_id": stranger, "name": "tables"},
                    tech, pending={"request_id": awaiting, "resource_id": partner}, pending_subject=partner)

    await matrix(dispatch.client, rules.DISPATCH, prepare)


async def test_feedback(feedback, broker):  # noqa: ANN001
    _, client, _ = feedback
    item = await client.post("/v1/feedback", json={"kind": "complaint", "text": "late"}, headers=as_role(Role.agent))
    action = await client.post("/v1/actions", json=rules.FEEDBACK[("POST", "/v1/actions")].body,
                               headers=as_role(Role.agent))
    assert (item.status_code, action.status_code) == (201, 201), (item.text, action.text)
    shared = {"feedback_id": item.json()["id"], "action_id": action.json()["id"], "token": "not-a-link", "name": "tables"}
    foreign_request, _ = await resolved_request(feedback, broker)

    async def prepare(op: Op) -> Case:
        foreign = {**shared, "request_id": foreign_request}
        if "{request_id}" not in op[1] and not rules.FEEDBACK[op].owner:
            return Case(foreign, foreign, "unused")
        request_id, customer = await resolved_request(feedback, broker)  # fresh: a confirmation closes it
        own = {**shared, "request_id": request_id}
        if "{feedback_id}" in op[1]:  # an item the customer gave: theirs to read (the desk's is a stranger's)
            given = await client.post("/v1/feedback", json={"kind": "praise", "text": "quick"},
                                      headers=as_role(Role.customer, customer))
            own["feedback_id"] = given.json()["id"]
        return Case(own, foreign, customer)

    await matrix(client, rules.FEEDBACK, prepare)


async def test_analytics(settings_for, broker):  # noqa: ANN001
    now = datetime(2026, 3, 2, 10, tzinfo=timezone.utc)
    history, request_id = History(), str(uuid.uuid4())
    Journey(history, request_id).received(now - timedelta(hours=2)).triaged(
        now - timedelta(hours=2), priority="P3", respond_by=now, resolve_by=now + timedelta(days=1),
        received_at=now - timedelta(hours=2))
    async with analytics_app(settings_for, broker.bootstrap, now) as api:
        await api.publish(history)
        await api.caught_up(len(history.envelopes))

        async def prepare(op: Op) -> Case:
            found: dict[str, int] = {}

            async def settled() -> bool:  # a rebuild asked for by an earlier call has gone live
                versions = await api.versions()
                found.update({"live": next((v["version"] for v in versions if v["status"] == "live"), 0)})
                return found["live"] > 0 and all(v["status"] != "building" for v in versions)

            await until(settled, 30)
            target = {"request_id": request_id, "version": str(found["live"])}
            return Case(target, target, "unused")

        await matrix(api.client, rules.ANALYTICS, prepare)
