"""Issue 13, defect 5: a body over the limit is refused (413) before it is read, a body from a
caller without a valid token is refused (401) before it is read, and neither holds up anyone else.

Over real HTTP (uvicorn) with raw sockets, so "before it is read" is observable: the answer
arrives while the client has sent the headers and not one byte of the body.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from typing import AsyncIterator

import httpx
import pytest

from services.intake.bootstrap import bootstrap
from services.intake.settings import IntakeSettings
from shared.auth import Role
from tests.support.app import as_role, serving_http

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

LIMIT = 1_048_576  # the default HTTP_MAX_BODY_BYTES
CUSTOMER = as_role(Role.customer, "cust-big-body")["Authorization"]


@pytest.fixture(scope="module")
async def base_url(settings_for) -> AsyncIterator[str]:  # noqa: ANN001
    async with serving_http(bootstrap(settings_for("intake", IntakeSettings))) as url:
        yield url


@contextlib.asynccontextmanager
async def head_only(base_url: str, headers: dict[str, str]) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """Sends a POST /v1/requests's headers and nothing of its body; the connection is closed after,
    whatever happens (an open upload would hold the server's shutdown)."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = ["POST /v1/requests HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
             *(f"{k}: {v}" for k, v in headers.items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    try:
        await writer.drain()
        yield reader, writer
    finally:
        writer.close()


async def answer(reader: asyncio.StreamReader) -> tuple[int, dict]:
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, json.loads(await reader.readexactly(length))


async def test_a_body_declared_over_the_limit_is_refused_before_a_byte_of_it_is_sent(base_url: str):
    async with head_only(base_url, {"Authorization": CUSTOMER, "Content-Length": str(15 * 1024 * 1024)}) as (reader, _):
        status, body = await asyncio.wait_for(answer(reader), 10)
    assert status == 413, body
    assert body["errors"][0]["field"] == "body"


async def test_a_streamed_body_is_refused_once_it_passes_the_limit(base_url: str):
    async with head_only(base_url, {"Authorization": CUSTOMER, "Transfer-Encoding": "chunked"}) as (reader, writer):
        chunk = b"x" * 65_536
        for _ in range(LIMIT // len(chunk) + 2):  # just past the limit, never the whole 15 MB
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        status, body = await asyncio.wait_for(answer(reader), 10)
    assert status == 413, body


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token"])
async def test_a_body_without_a_valid_token_is_refused_before_it_is_read(base_url: str, authorization: str | None):
    headers = {"Content-Length": str(500_000), **({"Authorization": authorization} if authorization else {})}
    async with head_only(base_url, headers) as (reader, _):
        status, body = await asyncio.wait_for(answer(reader), 10)
    assert status == 401, body
    assert body["title"] == "Unauthorized"


async def test_others_are_answered_while_a_huge_body_trickles_in(base_url: str):
    """The issue's stall: a 15 MB upload must not hold up /healthz or anyone's submit."""
    async with head_only(base_url, {"Authorization": CUSTOMER, "Transfer-Encoding": "chunked"}) as (reader, writer):
        writer.write(b"%x\r\n%s\r\n" % (100_000, b"[" * 100_000))  # a start, then the client dawdles
        await writer.drain()
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            assert (await client.get("/healthz")).status_code == 200
        assert not reader.at_eof()  # the upload is still open, unanswered: nobody waited for it
