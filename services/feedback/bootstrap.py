"""Wires feedback's dependencies explicitly; its capabilities arrive with their own issue."""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from shared.clock import Clock
from shared.http.app import create_app
from shared.service import ServiceRuntime
from shared.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"
DEFAULT_PORT = 8003


def bootstrap(settings: ServiceSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or ServiceSettings(service="feedback", port=DEFAULT_PORT)
    runtime = ServiceRuntime(settings, migrations=MIGRATIONS, clock=clock)
    return create_app(service="feedback", runtime=runtime)
