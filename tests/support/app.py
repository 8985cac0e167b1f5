"""Running a service's real app in-process (lifespan included) and calling it as a role."""
from __future__ import annotations

import contextlib
from typing import AsyncIterator

import httpx
from fastapi import FastAPI

from shared.auth import Role, TokenService
from shared.settings import Settings

_TOKENS = TokenService(Settings())


def as_role(role: Role | str, subject: str | None = None) -> dict[str, str]:
    role = Role(role)
    return {"Authorization": f"Bearer {_TOKENS.mint(role, subject or f'test-{role.value}')}"}


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app as uvicorn would (migrations, relay, projections, consumers), then call it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
            yield client


@contextlib.asynccontextmanager
async def serving_http(app: FastAPI) -> AsyncIterator[str]:
    """Serve the app over real HTTP on a free local port (for a browser); yields its base URL."""
    import asyncio

    import uvicorn

    from shared.runtime.embedded import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
