"""What the SLA scheduler asks of a job when one of its timers comes due, as a command on the bus
(run in a unit joined to the scheduler's transaction, which holds the due timer rows locked)."""
from __future__ import annotations

from typing import Any, Callable

from services.dispatch.domain import commands as cmd
from services.dispatch.domain.model import Job
from services.dispatch.service_layer.unit_of_work import DispatchUnitOfWork
from shared.clock import Clock


async def fire_timer(c: cmd.FireTimer, uow: DispatchUnitOfWork, clock: Clock, warning_share: float) -> Job | None:
    """Warn, breach or escalate, once. A stale timer (the clock stopped, paused or moved) records
    nothing, but the job is saved all the same, so its timer rows are rewritten from its clocks and
    the stale row is gone: it is never picked again."""
    job = await uow.jobs.get(c.request_id)
    if job is None:
        return None
    job.fire(c.timer, warning_share, clock.now())
    uow.jobs.add(c.request_id, job)
    return job


HANDLERS: dict[type, Callable[..., Any]] = {cmd.FireTimer: fire_timer}
