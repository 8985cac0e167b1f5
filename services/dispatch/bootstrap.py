"""Wires dispatch's dependencies explicitly; tests inject settings and clock here."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from fastapi import FastAPI

from services.dispatch.adapters.rebuild import DispatchTablesRebuild
from services.dispatch.adapters.tables import DispatchTables
from services.dispatch.adapters.unit_of_work import DispatchStreams, PostgresDispatchUnitOfWork
from services.dispatch.domain.model import Job
from services.dispatch.domain.resources import Resource
from services.dispatch.entrypoints import api, consumers, resources_api
from services.dispatch.service_layer import following, handlers, timers
from services.dispatch.service_layer.background import Allocator, SlaScheduler
from services.dispatch.service_layer.handlers import Dispatch
from services.dispatch.settings import DispatchSettings
from shared.aggregate import IdSource
from shared.clock import Clock
from shared.contracts import dispatch as ev
from shared.contracts.dispatch import registry
from shared.db import Conn
from shared.events import DomainEvent
from shared.http import read_models
from shared.http.app import create_app
from shared.messagebus import EventHandler, MessageBus, inject
from shared.repository import EventSourcedRepository
from shared.service import ConsumerSpec, ServiceRuntime

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
DEFAULT_PORT = 8002
SETTINGS = DispatchSettings


HANDLERS = {**handlers.HANDLERS, **following.HANDLERS, **timers.HANDLERS}  # every command dispatch carries out, by its class

# What may free a slot or make a resource fit a waiting job: the allocator then looks again.
FREES_OR_FITS: tuple[type[DomainEvent], ...] = (ev.AllocationDeclined, ev.IssueResolved, ev.JobReleased,
                                                ev.ResourceAllocated, ev.ResourceRegistered, ev.ResourceUpdated,
                                                ev.ResourceAvailabilityChanged)


def waking(wake: Callable[[], None]) -> dict[type[DomainEvent], list[EventHandler]]:
    async def wake_allocator(event: DomainEvent) -> None:
        if isinstance(event, ev.ResourceAllocated) and event.previous_resource_id is None:
            return  # a first allocation frees nothing
        wake()

    return {kind: [wake_allocator] for kind in FREES_OR_FITS}


def bootstrap(settings: DispatchSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or DispatchSettings(service="dispatch", port=DEFAULT_PORT)
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, clock=clock)
    streams = DispatchStreams(
        jobs=EventSourcedRepository(runtime.store, registry, Job, "job", runtime.clock),
        resources=EventSourcedRepository(runtime.store, registry, Resource, "resource", runtime.clock),
    )
    tables = DispatchTables(settings.schema_name)
    d = Dispatch(
        jobs=streams.jobs,
        resources=streams.resources,
        tables=tables,
        db=runtime.db,
        clock=runtime.clock,
        skills=settings.skill_map(),
        warning_share=settings.sla_warning_share,
    )
    allocator = Allocator(d, settings.batch_threshold, settings.allocator_poll_seconds)
    scheduler = SlaScheduler(d, settings.sla_poll_seconds)

    def unit(ids: IdSource, conn: Conn | None = None) -> PostgresDispatchUnitOfWork:
        return PostgresDispatchUnitOfWork(streams, tables, runtime.clock, settings.sla_warning_share,
                                          settings.schema_name, runtime.db, ids, conn)

    d.bus = MessageBus(lambda ids: unit(ids), inject(HANDLERS, clock=runtime.clock, skills=d.skills,
                                                           warning_share=settings.sla_warning_share),
                       event_handlers=waking(allocator.wake))
    d.unit_on = lambda conn, ids: unit(ids, conn)
    runtime.loops += [allocator, scheduler]
    runtime.working_tables.append(DispatchTablesRebuild(streams, settings.schema_name, settings.sla_warning_share))
    runtime.consumers.append(ConsumerSpec(consumers.CONSUMER, consumers.TOPICS, consumers.intake_follower(d)))
    app = create_app(service="dispatch", runtime=runtime)
    app.state.dispatch = d
    app.state.allocator, app.state.scheduler = allocator, scheduler
    app.include_router(api.router)
    app.include_router(resources_api.router)
    app.include_router(read_models.router)  # admins: positions and rebuilds (shared)
    return app
