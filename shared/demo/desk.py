"""The simulated desk: agents, technicians, dispatchers and customers playing a planned week through
the public HTTP APIs, each waiting on the services' own simulated clock (shared.clock.ScaledClock).

Every command carries an Idempotency-Key and is retried with it while the answer says "try again"
(503, 429, a refused connection), so a slow moment of the stack costs time, never a double record.
"""
from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from shared.auth import Role, TokenService
from shared.calendar import BusinessCalendar
from shared.clock import ScaledClock
from shared.demo.week import Arrival, Story, Technician
from shared.settings import Settings

RETRY = {429, 502, 503, 504}
OFFICE = {"name": "office", "timezone": "UTC", "hours": {d: ["08:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
          | {"sat": ["09:00-13:00"]}}


class WeekOver(Exception):
    """The week ended before a story's next step: what is under way stays open (the backlog)."""


@dataclass
class Tally:
    """What the desk did, for the progress bar and the summary."""
    counts: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)  # answers no step of a story should get
    submitted: list[str] = field(default_factory=list)  # ids of the requests a 201 acknowledged


class Desk:
    def __init__(self, urls: dict[str, str], clock: ScaledClock, technicians: list[Technician],
                 http: httpx.AsyncClient) -> None:
        self.urls, self.clock, self.http, self.tally = urls, clock, http, Tally()
        self.shifts = {t.id: t.calendar() for t in technicians}
        self.office = BusinessCalendar.from_spec({**OFFICE, "timezone": technicians[0].shift["timezone"]})
        self._tokens = TokenService(Settings())
        self._minted: dict[tuple[Role, str], str] = {}

    # Time
    async def until(self, instant: datetime) -> None:
        """Wait for the simulated clock to reach `instant`; WeekOver if the week ends first."""
        if self.clock.end is not None and instant >= self.clock.end:
            raise WeekOver
        while (ahead := instant - self.clock.now()) > timedelta(0):
            await asyncio.sleep(self.clock.real_seconds(ahead))

    async def pause(self) -> None:
        """A poll's real pause; WeekOver once the week has ended (its time stands still)."""
        if self.clock.end is not None and self.clock.now() >= self.clock.end:
            raise WeekOver
        await asyncio.sleep(0.25)

    async def after(self, delta: timedelta) -> None:
        await self.until(self.clock.now() + delta)

    # HTTP
    def _auth(self, role: Role, subject: str) -> dict[str, str]:
        if (role, subject) not in self._minted:
            self._minted[role, subject] = self._tokens.mint(role, subject, ttl=timedelta(days=1))
        return {"Authorization": f"Bearer {self._minted[role, subject]}"}

    async def call(self, role: Role, subject: str, service: str, path: str, body: dict | None = None,
                   method: str = "POST") -> tuple[int, Any]:
        headers = {**self._auth(role, subject), "Idempotency-Key": uuid.uuid4().hex}
        for _ in range(300):
            try:
                answer = await self.http.request(method, self.urls[service] + path, json=body, headers=headers)
                if answer.status_code not in RETRY:
                    return answer.status_code, answer.json() if answer.content else None
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        raise TimeoutError(f"{service} kept answering 'try again' to {path}")

    async def expect(self, ok: set[int], role: Role, subject: str, service: str, path: str,
                     body: dict | None = None, method: str = "POST") -> Any:
        status, answer = await self.call(role, subject, service, path, body, method)
        if status not in ok:
            self.tally.unexpected.append(f"{method} {path} → {status}: {str(answer)[:160]}")
            return None
        return answer

    async def job(self, request_id: str, wanted: set[str], give_up: timedelta) -> dict | None:
        """Dispatch's job once it is in one of the `wanted` states (or None after `give_up`)."""
        deadline = self.clock.now() + give_up
        while self.clock.now() < deadline:
            status, job = await self.call(Role.dispatcher, "dispatcher-1", "dispatch", f"/v1/jobs/{request_id}",
                                          method="GET")
            if status == 200 and job["status"] in wanted:
                return job
            await self.pause()
        return None

    # The week
    async def staff(self, technicians: list[Technician]) -> None:
        for tech in technicians:
            await self.expect({201, 409}, Role.dispatcher, "dispatcher-1", "dispatch", "/v1/resources", tech.body())

    async def play(self, arrival: Arrival) -> None:
        await self.until(arrival.at)
        created = await self.expect({201}, Role.agent, "agent-1", "intake", "/v1/requests", arrival.body)
        if created is None:
            return
        self.tally.counts["submitted"] += 1
        self.tally.submitted.append(created["id"])
        request_id, story = created["id"], arrival.story
        await self.until(self.office.next_open(self.clock.now() + story.acknowledge_after))
        await self.expect({200, 409}, Role.agent, "agent-1", "intake", f"/v1/requests/{request_id}/acknowledge",
                          {"message": "We have your request and are on it."})
        if story.withdraw:
            await self.expect({200, 409}, Role.agent, "agent-1", "intake", f"/v1/requests/{request_id}/withdraw",
                              {"reason": "the customer found a way round it"})
            self.tally.counts["withdrawn"] += 1
            return
        await self.work(request_id, story, first=True)
        if story.reject:
            await self.customer_answers(request_id, arrival, story, accepted=False)
            self.tally.counts["reopened"] += 1
            await self.work(request_id, story, first=False)
        if story.answers_after is None:
            self.tally.counts["left unanswered"] += 1
            return
        await self.customer_answers(request_id, arrival, story, accepted=True)
        await self.survey(request_id, arrival, story)
        await self.feedback(request_id, arrival, story)

    async def work(self, request_id: str, story: Story, first: bool) -> None:
        job = await self.job(request_id, {"allocated"}, timedelta(days=4))
        if job is None:
            self.tally.counts["never allocated"] += 1
            return
        tech = job["resource_id"]
        if first and story.decline:
            await self.expect({200, 409}, Role.technician, tech, "dispatch", f"/v1/jobs/{request_id}/decline",
                              {"reason": "not my area this week"})
            self.tally.counts["declined"] += 1
            job = await self.job(request_id, {"allocated"}, timedelta(days=4))
            if job is None:
                return
            tech = job["resource_id"]
        shift = self.shifts.get(tech) or self.office
        await self.until(_starting(shift, self.clock.now() + story.travel))
        path = f"/v1/jobs/{request_id}"
        await self.expect({200}, Role.technician, tech, "dispatch", f"{path}/start")
        if first and story.escalate:
            await self.expect({200, 409}, Role.dispatcher, "dispatcher-1", "dispatch", f"{path}/escalate",
                              {"reason": "the customer's whole office is waiting", "level": "manager"})
            self.tally.counts["escalated"] += 1
        if first and story.pause_for:
            await self.until(shift.add_business_time(self.clock.now(), story.work / 3))
            await self.expect({200}, Role.technician, tech, "dispatch", f"{path}/pause",
                              {"waiting_on": "parts", "note": "a part is on order"})
            await self.after(story.pause_for)
            await self.until(shift.next_open(self.clock.now()))
            await self.expect({200}, Role.technician, tech, "dispatch", f"{path}/resume")
            self.tally.counts["paused"] += 1
        await self.until(shift.add_business_time(self.clock.now(), story.work if first else story.work / 2))
        await self.expect({200}, Role.technician, tech, "dispatch", f"{path}/resolve",
                          {"resolution_code": "fixed", "summary": "Found the cause and put it right."})
        self.tally.counts["resolved"] += 1

    async def customer_answers(self, request_id: str, arrival: Arrival, story: Story, accepted: bool) -> None:
        await self.after(story.answers_after or timedelta(hours=2))
        body = {"accepted": accepted} if accepted else {"accepted": False, "reason": "it happened again"}
        closure = await self.closure(request_id, arrival, {"awaiting_confirmation"})
        if closure is not None:
            await self.expect({200, 409}, Role.customer, arrival.customer["id"], "feedback",
                              f"/v1/requests/{request_id}/confirmation", body)
            self.tally.counts["confirmed" if accepted else "rejected"] += 1

    async def closure(self, request_id: str, arrival: Arrival, wanted: set[str]) -> dict | None:
        for _ in range(200):
            status, closure = await self.call(Role.customer, arrival.customer["id"], "feedback",
                                              f"/v1/requests/{request_id}/closure", method="GET")
            if status == 200 and closure["status"] in wanted:
                return closure
            await self.pause()
        return None

    async def survey(self, request_id: str, arrival: Arrival, story: Story) -> None:
        if story.survey is None or await self.closure(request_id, arrival, {"closed"}) is None:
            return
        await self.after(timedelta(hours=1))
        link = await self.expect({200}, Role.customer, arrival.customer["id"], "feedback",
                                 f"/v1/requests/{request_id}/survey", method="GET")
        if link is None:
            return
        csat, nps = story.survey
        body = {"csat": csat, "nps": nps, "dimensions": {"responsiveness": csat, "empathy": min(5, csat + 1)},
                "comment": story.comment}
        status, _ = await self.call(Role.customer, arrival.customer["id"], "feedback",
                                    f"/v1/surveys/{link['token']}", body)
        self.tally.counts["surveys" if status == 201 else "surveys refused"] += 1

    async def feedback(self, request_id: str, arrival: Arrival, story: Story) -> None:
        if story.feedback is None:
            return
        text = "Nobody told me it would take this long." if story.feedback == "complaint" else "Brilliant work, thank you."
        item = await self.expect({201}, Role.customer, arrival.customer["id"], "feedback", "/v1/feedback",
                                 {"kind": story.feedback, "request_id": request_id, "text": text})
        if item is None:
            return
        self.tally.counts[story.feedback] += 1
        await self.until(self.office.next_open(self.clock.now() + timedelta(hours=2)))
        await self.expect({200, 409}, Role.agent, "agent-1", "feedback", f"/v1/feedback/{item['id']}/acknowledge")
        await self.until(self.office.add_business_time(self.clock.now(), timedelta(hours=5)))
        await self.expect({200, 409}, Role.agent, "agent-1", "feedback", f"/v1/feedback/{item['id']}/resolve",
                          {"outcome": "Called the customer back and agreed what we change."})


def _starting(shift: BusinessCalendar, at: datetime) -> datetime:
    """When a technician starts a job: on shift, with an hour of it left (no one starts at 14:55
    what they cannot do before going home at 15:00)."""
    start = shift.next_open(at)
    for _ in range(48):  # a shift of short spells only: start in the first one
        if shift.is_open(start + timedelta(hours=1)):
            return start
        start = shift.next_open(start + timedelta(hours=1))
    return shift.next_open(at)
