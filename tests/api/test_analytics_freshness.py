"""Reports follow the live read model as events keep arriving: changed facts replace their rows."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.api.analytics_support import analytics_app
from tests.support.history import History, Journey

MON = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def hours(n: float) -> datetime:
    return MON + timedelta(hours=n)


async def test_a_report_sees_new_requests_and_the_later_steps_of_ones_it_already_counted(settings_for, broker):
    history = History()
    a = Journey(history, "A").received(hours(0)).triaged(hours(0), priority="P2", respond_by=hours(4),
                                                       resolve_by=hours(30), received_at=hours(0))
    async with analytics_app(settings_for, broker.bootstrap, hours(48)) as api:
        await api.publish(history)
        published = len(history.envelopes)
        await api.caught_up(published)
        assert (await api.report("backlog"))["total"]["open"] == 1
        assert (await api.report("sla"))["total"]["response_missed"] == 1  # unanswered past its deadline

        # A's next steps, and a new request B
        a.acknowledged(hours(1), respond_by=hours(4), within_target=True).allocated(hours(1), "res-1")
        a.started(hours(2), "res-1").resolved(hours(5), "res-1").confirmed(hours(6)).closed(hours(6))
        Journey(history, "B").received(hours(7)).triaged(hours(7), priority="P3", respond_by=hours(60),
                                                       resolve_by=hours(80), received_at=hours(7))
        await api.publish(history, since=published)
        await api.caught_up(len(history.envelopes))

        sla = (await api.report("sla"))["total"]
        assert (sla["requests"], sla["response_met"], sla["response_missed"], sla["resolution_met"]) == (2, 1, 0, 1)
        backlog = await api.report("backlog", group_by="priority")
        assert [(r["group"], r["open"]) for r in backlog["rows"]] == [("P3", 1)]
        assert (await api.report("stages"))["total"]["work_median_s"] == 3 * 3600
