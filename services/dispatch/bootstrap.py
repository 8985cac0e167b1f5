"""Wires dispatch's dependencies explicitly; tests inject settings and clock here."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.dispatch.adapters.tables import DispatchTables
from services.dispatch.domain.model import Job
from services.dispatch.domain.resources import Resource
from services.dispatch.entrypoints import api, consumers, resources_api
from services.dispatch.service_layer.background import Allocator, SlaScheduler
from services.dispatch.service_layer.handlers import Dispatch
from services.dispatch.settings import DispatchSettings
from shared.clock import Clock
from shared.contracts.dispatch import registry
from shared.http.app import create_app
from shared.repository import EventSourcedRepository
from shared.service import ConsumerSpec, ServiceRuntime

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
DEFAULT_PORT = 8002
SETTINGS = DispatchSettings


def bootstrap(settings: DispatchSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or DispatchSettings(service="dispatch", port=DEFAULT_PORT)
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, clock=clock)
    d = Dispatch(
        jobs=EventSourcedRepository(runtime.store, registry, Job, "job", runtime.clock),
        resources=EventSourcedRepository(runtime.store, registry, Resource, "resource", runtime.clock),
        tables=DispatchTables(settings.schema_name),
        db=runtime.db,
        clock=runtime.clock,
        skills=settings.skill_map(),
        warning_share=settings.sla_warning_share,
    )
    allocator = Allocator(d, settings.batch_threshold, settings.allocator_poll_seconds)
    scheduler = SlaScheduler(d, settings.sla_poll_seconds)
    d.wake_allocator = allocator.wake
    runtime.loops += [allocator, scheduler]
    runtime.consumers.append(ConsumerSpec(consumers.CONSUMER, consumers.TOPICS, consumers.intake_follower(d)))
    app = create_app(service="dispatch", runtime=runtime)
    app.state.dispatch = d
    app.state.allocator, app.state.scheduler = allocator, scheduler
    app.include_router(api.router)
    app.include_router(resources_api.router)
    return app
