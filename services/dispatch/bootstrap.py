"""Wires dispatch's dependencies explicitly; tests inject settings and clock here."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.dispatch.domain.events import registry
from services.dispatch.domain.model import Job
from services.dispatch.entrypoints import api, consumers
from services.dispatch.service_layer.handlers import Dispatch
from shared.clock import Clock
from shared.http.app import create_app
from shared.repository import EventSourcedRepository
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
DEFAULT_PORT = 8002


def bootstrap(settings: ServiceSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or ServiceSettings(service="dispatch", port=DEFAULT_PORT)
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, clock=clock)
    dispatch = Dispatch(
        jobs=EventSourcedRepository(runtime.store, registry, Job, "job", runtime.clock),
        db=runtime.db,
        clock=runtime.clock,
    )
    runtime.consumers.append(
        ConsumerSpec(consumers.CONSUMER, consumers.TOPICS, consumers.intake_handler(dispatch))
    )
    app = create_app(service="dispatch", runtime=runtime)
    app.state.dispatch = dispatch
    app.include_router(api.router)
    return app
