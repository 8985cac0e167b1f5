"""A service's real app under uvicorn on a free local port, in a thread with its own event loop.

Schemathesis' tests are synchronous (Hypothesis drives them and `requests` sends them), so the app
cannot live on the suite's event loop: that loop sits idle while a synchronous test runs, and the app
(lifespan, relay, consumers, projections) would stall. A thread of its own keeps it running as it
does under `make run`, and the calls go over real HTTP through every middleware.
"""
from __future__ import annotations

import threading
import time

import uvicorn
from fastapi import FastAPI

from shared.runtime.embedded import free_port


class ThreadedService:
    """`with ThreadedService(app) as url:` serves the app until the block ends."""

    def __init__(self, app: FastAPI, start_timeout: float = 60.0) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None, access_log=False,
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"service-{self.port}", daemon=True)
        self.start_timeout = start_timeout

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            # uvicorn ends `run` without raising when the lifespan fails; the log says why.
            if not self.thread.is_alive():
                raise RuntimeError(f"the service on port {self.port} did not start (see the log)")
            if time.monotonic() > deadline:
                self.server.should_exit = True
                raise RuntimeError(f"the service on port {self.port} did not start in {self.start_timeout}s")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
