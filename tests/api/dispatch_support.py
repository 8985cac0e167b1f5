"""Dispatch's real app with a frozen clock, fed RequestTriaged events through the real broker:
hand-made ones (`DispatchApi.triage`), or the very records intake's own code writes (`IntakeDesk`)."""
from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from services.intake.domain import commands as cmd
from services.intake.domain.categories import CategoryTree
from services.intake.domain.model import Rules, ServiceRequest
from services.intake.domain.priority import Level
from services.intake.domain.zones import ZoneMap
from shared.auth import Role
from shared.calendar import BusinessCalendar
from shared.clock import FrozenClock
from shared.contracts import intake
from shared.envelope import Envelope
from shared.events import DomainEvent
from shared.eventstore import EventStore
from shared.eventstore.store import stamp
from shared.repository import EventSourcedRepository
from tests.support.app import as_role
from tests.support.events import new_event
from tests.support.kafka import produce
from tests.support.waiting import until

MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
ALWAYS = BusinessCalendar.always_open().to_spec()


@dataclass
class DispatchApi:
    client: httpx.AsyncClient
    clock: FrozenClock
    bootstrap: str
    app: Any
    topic_prefix: str = ""  # the stack's TOPIC_PREFIX

    async def call(self, method: str, path: str, role: Role = Role.dispatcher, subject: str | None = None,
                   **kwargs: Any) -> httpx.Response:
        return await self.client.request(method, path, headers=as_role(role, subject), **kwargs)

    async def resource(self, skill: str, capacity: int = 1, **changes: Any) -> dict[str, Any]:
        body = {"id": f"res-{uuid.uuid4().hex[:8]}", "name": "Tech", "skills": [skill], "capacity": capacity, **changes}
        response = await self.call("POST", "/v1/resources", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def triage(self, skill: str, priority: str = "P3", respond: timedelta = timedelta(hours=4),
                     resolve: timedelta = timedelta(hours=24), calendar: dict | None = None,
                     event: str = "RequestTriaged", request_id: str | None = None, version: int = 1,
                     **data: Any) -> str:
        request_id = request_id or str(uuid.uuid4())
        received = self.clock.now()
        payload = {"request_id": request_id, "priority": priority, "urgency": "high", "impact": "high",
                   "kind": "fault", "channel": "phone", "category": f"fault > {skill} > x",
                   "emergency": priority == "P1", "received_at": received.isoformat(),
                   "respond_by": (received + respond).isoformat(), "resolve_by": (received + resolve).isoformat(),
                   "sla": {"policy": "test", "respond": "4h", "resolve": "1d", "calendar": calendar or ALWAYS},
                   "triaged_by": "agent", "needs_review": False, "triaged_at": received.isoformat(), **data}
        await self.publish(event, request_id, payload, version)
        return request_id

    async def publish(self, name: str, request_id: str, data: dict[str, Any], version: int = 1) -> None:
        env: Envelope = dataclasses.replace(
            new_event(request_id, name), stream_id=f"request-{request_id}", stream_version=version, data=data)
        await produce(self.bootstrap, f"{self.topic_prefix}intake.events", [env])

    async def job(self, request_id: str, status: str | None = None) -> dict[str, Any]:
        found: dict[str, Any] = {}

        async def ready() -> bool:
            response = await self.call("GET", f"/v1/jobs/{request_id}")
            found.update(response.json() if response.status_code == 200 else {})
            return response.status_code == 200 and (status is None or found.get("status") == status)

        await until(ready, timeout=30)
        return found


class IntakeDesk:
    """Intake's real aggregate and repository, on dispatch's clock: the records dispatch consumes
    are exactly the ones intake's code writes (a contract test, not hand-made payloads). Each area
    given is a category `fault > <area> > x`, needing skill `<area>`; `zones` maps location
    prefixes to zones as INTAKE_RULES_FILE does."""

    # What dispatch follows of intake's. Never RequestReceived: it carries the customer's personal
    # data, which intake's relay would encrypt, and dispatch has nothing to do with it anyway.
    FOLLOWED = frozenset({"RequestTriaged", "RequestAcknowledged", "RequestReopened", "RequestProgressed"})

    def __init__(self, dispatch: DispatchApi, *areas: str, zones: dict[str, str] | None = None) -> None:
        self.dispatch = dispatch
        self.rules = Rules(categories=CategoryTree({"fault": {area: ["x"] for area in areas}}),
                           zones=ZoneMap(zones or {}))
        self.repository = EventSourcedRepository(EventStore("intake", "intake"), intake.registry, ServiceRequest,
                                                 "request", dispatch.clock)

    async def submit(self, area: str, urgency: Level, impact: Level, location: str | None = None,
                     zone: str | None = None) -> ServiceRequest:
        body = cmd.SubmitRequest(
            customer=cmd.CustomerDetails(id="cust-1", name="Ann"), channel="phone", kind="fault",
            title="Printer jams", description="On every page", urgency=urgency, impact=impact, taken_by="agent-1",
            category=f"fault > {area} > x", location=location, zone=zone)
        request = ServiceRequest.submit(str(uuid.uuid4()), body, self.dispatch.clock.now(), self.rules)
        await self._publish(request)
        return request

    async def retriage(self, request: ServiceRequest, reason: str, area: str | None = None,
                       urgency: Level | None = None, impact: Level | None = None) -> intake.RequestTriaged:
        change = cmd.Retriage(request.id, "agent-1", reason, urgency=urgency, impact=impact,
                              category=f"fault > {area} > x" if area else None)
        request.retriage(change, self.dispatch.clock.now(), self.rules)
        await self._publish(request)
        assert request.triage is not None
        return request.triage

    async def move(self, request: ServiceRequest, location: str, reason: str) -> None:
        """The request's location changes (RequestUpdated: personal, so not published here)."""
        request.update(cmd.UpdateRequest(request.id, "agent-1", reason, {"location": location}),
                       self.dispatch.clock.now())
        await self._publish(request)

    async def follow(self, request: ServiceRequest, fact: str, resource_id: str | None = None) -> None:
        """Intake's consumer read dispatch's or feedback's `fact` ("dispatch.IssueResolved")."""
        service, name = fact.split(".")
        request.progress(cmd.FollowFact(request.id, fact, f"servicetrail.{service}.{name}.v1", str(uuid.uuid4()),
                                        self.dispatch.clock.now(), resource_id), self.dispatch.clock.now())
        await self._publish(request)

    async def acknowledge(self, request: ServiceRequest) -> intake.RequestAcknowledged:
        request.acknowledge(cmd.Acknowledge(request.id, "agent-1", "we are on it"), self.dispatch.clock.now())
        assert request.acknowledged is not None
        await self._publish(request)
        return request.acknowledged

    async def reject(self, request: ServiceRequest, reason: str) -> intake.RequestReopened:
        """The customer rejected the resolution now (feedback's fact): intake reopens the request."""
        now = self.dispatch.clock.now()
        request.reopen(cmd.Reopen(request.id, reason, now), now)
        (reopened,) = [e for e in await self._publish(request) if isinstance(e, intake.RequestReopened)]
        return reopened

    async def _publish(self, request: ServiceRequest) -> list[DomainEvent]:
        events = request.take_pending()
        stamped = stamp(self.repository.envelopes(events), self.repository.stream_id(request.id), request.version)
        request.version += len(events)
        await produce(self.dispatch.bootstrap, "intake.events", [e for e in stamped if e.name in self.FOLLOWED])
        return events
