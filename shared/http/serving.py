"""Serving one service over HTTP, in one process or in several sharing one listening socket."""
from __future__ import annotations

import importlib
import os

import uvicorn
from fastapi import FastAPI

from shared import tracing
from shared.logging import configure_logging
from shared.settings import ServiceSettings

SERVICE_ENV = "SERVICETRAIL_SERVICE"


def service_app(service: str | None = None, **overrides: object) -> FastAPI:
    """The service's app, wired by its bootstrap from settings in the environment.

    Called by each worker process too (as an app factory), with the service named in
    SERVICETRAIL_SERVICE: a worker builds its own runtime, pools and background loops.
    """
    name = service or os.environ[SERVICE_ENV]
    module = importlib.import_module(f"services.{name}.bootstrap")
    settings = getattr(module, "SETTINGS", ServiceSettings)(service=name, **overrides)
    configure_logging(settings.log_level, settings.log_json, name)
    tracing.configure(name)
    return module.bootstrap(settings)


def serve(service: str, host: str, port: int, workers: int) -> None:
    """Every worker runs the whole service; background loops elect one leader among them
    (advisory locks and consumer groups), so more workers add HTTP capacity, not duplicates.
    """
    options: dict[str, object] = {"host": host, "port": port, "log_config": None, "access_log": False}
    if workers == 1:
        uvicorn.run(service_app(service, host=host, port=port), **options)
        return
    os.environ[SERVICE_ENV] = service
    uvicorn.run("shared.http.serving:service_app", factory=True, workers=workers, **options)
