"""Analytics' consumer reads every record through the published contracts (issue 12).

Through the real broker and the analytics app's own consumer wiring: a record that fits its contract
is archived (one of an older version as its contract's current version); one that does not fit goes
to analytics' dead-letter topic at once; one of a type or version the contracts do not know is
skipped and counted, and never archived.
"""
from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta, timezone

from shared.consumer import dead_letter_topic
from shared.contracts import dispatch
from shared.envelope import Envelope, source_of
from shared.metrics import CONSUMER_UNKNOWN
from tests.api.analytics_support import analytics_app
from tests.support.history import History, Journey
from tests.support.kafka import header, produce, read_topic
from tests.support.waiting import until

MON = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def hours(n: float) -> datetime:
    return MON + timedelta(hours=n)


def triaged(history: History, request_id: str) -> Envelope:
    Journey(history, request_id).triaged(hours(0), priority="P2", respond_by=hours(4), resolve_by=hours(30),
                                         received_at=hours(0))
    return history.envelopes[-1]


def reprioritised_v1(request_id: str) -> Envelope:
    """A record dispatch published before JobReprioritised gained category, skills and calendar (v2)."""
    return Envelope(id=str(uuid.uuid4()), source=source_of("dispatch"), type="servicetrail.dispatch.JobReprioritised.v1",
                    subject=request_id, time=hours(1), stream_id=f"job-{request_id}", stream_version=1,
                    correlation_id=str(uuid.uuid4()), causation_id=None,
                    data={"request_id": request_id, "priority": "P1", "emergency": True,
                          "respond_by": "2026-03-02T10:00:00Z", "resolve_by": "2026-03-02T13:00:00Z",
                          "reprioritised_at": "2026-03-02T10:00:00Z"})


async def test_the_archive_keeps_what_fits_dead_letters_misfits_and_skips_unknown_types(settings_for, broker):
    good = History()
    Journey(good, "R1").received(hours(0))
    triaged(good, "R1")
    bad = History()
    misfit = dataclasses.replace(m := triaged(bad, "R2"), data={k: v for k, v in m.data.items() if k != "priority"})
    unknown = dataclasses.replace(triaged(bad, "R3"), type="servicetrail.intake.RequestTeleported.v1")
    future = dataclasses.replace(triaged(bad, "R4"), type="servicetrail.intake.RequestTriaged.v9")
    old = reprioritised_v1("R1")

    async with analytics_app(settings_for, broker.bootstrap, hours(48)) as api:
        group, intake_topic = api.settings.consumer_group_prefix + "analytics", api.settings.topic_prefix + "intake.events"
        unknown_before = CONSUMER_UNKNOWN.labels(group, intake_topic)._value.get()
        await produce(broker.bootstrap, intake_topic, [misfit, unknown, future, *good.envelopes])
        await produce(broker.bootstrap, api.settings.topic_prefix + "dispatch.events", [old])

        dead = await read_topic(broker.bootstrap, dead_letter_topic(group), at_least=1, timeout=15)
        assert [header(r, "ce_id") for r in dead] == [misfit.id]
        assert header(dead[0], "dlq_attempts") == "1" and "priority" in header(dead[0], "dlq_error")
        await until(lambda: _counted(group, intake_topic, unknown_before + 2))
        await api.caught_up(len(good.envelopes) + 1)

        assert [v["head"] for v in await api.versions() if v["status"] == "live"] == [3]  # nothing else archived
        for never_archived in ("R2", "R3", "R4"):
            assert (await api.get(f"/v1/requests/{never_archived}/timeline")).status_code == 404
        events = (await api.get("/v1/requests/R1/timeline")).json()["events"]
        kept = next(e for e in events if e["name"] == "JobReprioritised")
        # kept as the contract's current version, whatever it is now
        assert kept["type"] == f"servicetrail.dispatch.JobReprioritised.v{dispatch.JobReprioritised.version}"
        assert kept["id"] == old.id and kept["stream_version"] == 1  # still the producer's record
        assert {k: kept["data"][k] for k in ("priority", "category", "required_skills", "calendar")} == \
            {"priority": "P1", "category": None, "required_skills": None, "calendar": None}
        assert (await api.report("sla"))["total"]["requests"] == 1


async def _counted(group: str, topic: str, n: float) -> bool:
    return CONSUMER_UNKNOWN.labels(group, topic)._value.get() >= n
