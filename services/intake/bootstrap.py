"""Wires intake's dependencies explicitly; tests inject settings and clock here."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.intake.domain.events import registry
from services.intake.domain.model import ServiceRequest
from services.intake.domain.priority import DEFAULT_POLICY
from services.intake.entrypoints import api
from services.intake.service_layer.handlers import Intake
from shared.clock import Clock
from shared.http.app import create_app
from shared.repository import EventSourcedRepository
from shared.service import ServiceRuntime
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
DEFAULT_PORT = 8001


def bootstrap(settings: ServiceSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or ServiceSettings(service="intake", port=DEFAULT_PORT)
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, clock=clock)
    app = create_app(service="intake", ready=runtime.ready, lifespan=runtime.lifespan)
    app.state.intake = Intake(
        requests=EventSourcedRepository(runtime.store, registry, ServiceRequest, "request", runtime.clock),
        append=runtime.append,
        engine=runtime.engine,
        clock=runtime.clock,
        policy=DEFAULT_POLICY,
    )
    app.include_router(api.router)
    return app
