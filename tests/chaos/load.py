"""Bounded load through the public APIs, as a desk would make it, that keeps going through faults.

Every command carries an Idempotency-Key and is retried with it until answered (a 503, a refused
connection or a timeout mean "try again"), so what a client was told was recorded can be checked
against what every service holds afterwards.
"""
from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field

import httpx

from shared.auth import Role, TokenService
from shared.settings import Settings

RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class Load:
    urls: dict[str, str]
    submitted: list[str] = field(default_factory=list)  # request ids a 201 acknowledged
    resolved: list[str] = field(default_factory=list)
    refused: list[tuple[str, int, str]] = field(default_factory=list)  # 4xx the load did not expect

    def __post_init__(self) -> None:
        tokens = TokenService(Settings())
        self.headers = {r: {"Authorization": f"Bearer {tokens.mint(r, f'chaos-{r.value}')}"} for r in Role}

    async def command(self, client: httpx.AsyncClient, role: Role, url: str, body: dict, deadline: float = 120) -> dict:
        """POST until answered; the same Idempotency-Key every time, so a retry records nothing twice."""
        key, loop = uuid.uuid4().hex, asyncio.get_running_loop()
        give_up = loop.time() + deadline
        while True:
            try:
                answer = await client.post(url, json=body, headers={**self.headers[role], "Idempotency-Key": key})
                if answer.status_code < 400:
                    return answer.json()
                if answer.status_code not in RETRYABLE:
                    self.refused.append((url, answer.status_code, answer.text[:200]))
                    return {}
            except httpx.HTTPError:
                pass
            if loop.time() > give_up:
                raise TimeoutError(f"no answer from {url} in {deadline}s")
            await asyncio.sleep(0.2)

    async def setup(self, client: httpx.AsyncClient) -> None:
        for n in range(3):
            await self.command(client, Role.dispatcher, f"{self.urls['dispatch']}/v1/resources",
                               {"name": f"Tech {n}", "skills": ["repair", "advice"], "capacity": 100})

    async def submit(self, client: httpx.AsyncClient, n: int) -> None:
        body = {"customer": {"id": f"c-{n % 17}", "name": "Chaos Customer"}, "channel": "phone",
                "kind": random.choice(["fault", "consultation"]), "title": f"Chaos {n}",
                "description": "made by the chaos suite", "urgency": random.choice(["low", "medium", "high"]),
                "impact": random.choice(["low", "medium"])}
        answer = await self.command(client, Role.agent, f"{self.urls['intake']}/v1/requests", body)
        if answer.get("id"):
            self.submitted.append(answer["id"])

    async def work(self, client: httpx.AsyncClient, request_id: str) -> None:
        """Start, resolve and confirm one request's job once dispatch has allocated it."""
        dispatch = f"{self.urls['dispatch']}/v1/jobs/{request_id}"
        for _ in range(100):
            try:
                job = await client.get(dispatch, headers=self.headers[Role.dispatcher])
                if job.status_code == 200 and job.json().get("status") == "allocated":
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
        else:
            return  # not allocated in time (a fault in the way): left open, still checked
        await self.command(client, Role.dispatcher, f"{dispatch}/start", {})
        await self.command(client, Role.dispatcher, f"{dispatch}/resolve",
                           {"resolution_code": "fixed", "summary": "done under chaos"})
        self.resolved.append(request_id)

    async def run(self, requests: int, rate: float) -> None:
        """`requests` submits at about `rate` per second; every other one is worked to resolution."""
        async with httpx.AsyncClient(timeout=10) as client:
            await self.setup(client)
            workers: list[asyncio.Task[None]] = []
            for n in range(requests):
                await self.submit(client, n)
                if n % 2 == 0 and self.submitted:
                    workers.append(asyncio.create_task(self.work(client, self.submitted[-1])))
                await asyncio.sleep(1 / rate)
            await asyncio.gather(*workers)
