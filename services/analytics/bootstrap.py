"""Wires analytics' dependencies explicitly; tests inject settings and clock here."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.analytics.adapters.archive import Archive
from services.analytics.adapters.frame import FrameStore, FrameWarmer
from services.analytics.entrypoints import api, consumers, dashboard, read_models_api, reports_api
from services.analytics.service_layer.read_models import ReadModels
from services.analytics.settings import AnalyticsSettings
from shared.clock import Clock
from shared.http.app import create_app
from shared.service import ConsumerSpec, ServiceRuntime

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
DEFAULT_PORT = 8004
SETTINGS = AnalyticsSettings


def bootstrap(settings: AnalyticsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or AnalyticsSettings()
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, clock=clock, publishes=False)
    archive = Archive(settings.schema_name)
    read_models = ReadModels(runtime.db, runtime.store, runtime.clock, settings.tuning())
    runtime.loops.append(read_models)
    runtime.wake_on_commit(read_models)
    runtime.consumers.append(ConsumerSpec(consumers.CONSUMER, consumers.TOPICS, consumers.archiver(archive)))
    app = create_app(service="analytics", runtime=runtime)
    app.state.settings, app.state.archive, app.state.read_models = settings, archive, read_models
    app.state.frames = frames = FrameStore(settings.schema_name, settings.report_timezone)
    runtime.loops.append(FrameWarmer(runtime.db, frames, settings.frame_refresh_seconds))
    for router in (api.router, reports_api.router, read_models_api.router, dashboard.router):
        app.include_router(router)
    dashboard.mount_static(app)
    return app
