"""Wires analytics' dependencies explicitly; tests inject settings and clock here."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.analytics.adapters.timeline import TimelineStore
from services.analytics.entrypoints import api, consumers
from shared.clock import Clock
from shared.http.app import create_app
from shared.service import ConsumerSpec, ServiceRuntime
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
DEFAULT_PORT = 8004


def bootstrap(settings: ServiceSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or ServiceSettings(service="analytics", port=DEFAULT_PORT)
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, clock=clock, publishes=False)
    timeline = TimelineStore(settings.schema_name)
    runtime.consumers.append(ConsumerSpec(consumers.CONSUMER, consumers.TOPICS, consumers.projector(timeline)))
    app = create_app(service="analytics", runtime=runtime)
    app.state.timeline = timeline
    app.include_router(api.router)
    return app
