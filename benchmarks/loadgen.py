"""A lean HTTP/1.1 load generator (keep-alive, raw asyncio streams) so the client costs little CPU.

Closed loop: N connections each sending back to back (throughput). Open loop: requests started at
a fixed rate whatever the answers (latency at a given load, without coordinated omission).
"""
from __future__ import annotations

import asyncio
import contextlib
import gc
import statistics
import time
from dataclasses import dataclass
from itertools import cycle
from typing import Iterable, Iterator


@dataclass
class Outcome:
    sent: int
    ok: int
    seconds: float
    latencies: list[float]

    def report(self) -> dict[str, float]:
        lat = sorted(self.latencies) or [0.0]
        return {
            "requests_per_second": round(self.ok / self.seconds, 1),
            "ok": self.ok,
            "errors": self.sent - self.ok,
            "p50_ms": round(lat[len(lat) // 2] * 1000, 2),
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 2),
            "mean_ms": round(statistics.fmean(lat) * 1000, 2),
        }


def build_requests(host: str, path: str, bodies: Iterable[bytes], headers: dict[str, str]) -> list[bytes]:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return [
        (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{extra}"
         f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        for body in bodies
    ]


@contextlib.contextmanager
def _no_collector_pauses() -> Iterator[None]:
    """The generator's own full collections stalled it for 40-60 ms mid-run, and every request
    scheduled meanwhile counted the stall as the server's latency. A run is short: collect after."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def closed_loop(host: str, port: int, requests: list[bytes], clients: int, seconds: float,
                      expect: int) -> Outcome:
    with _no_collector_pauses():
        return await _closed_loop(host, port, requests, clients, seconds, expect)


async def open_loop(host: str, port: int, requests: list[bytes], rate: float, seconds: float,
                    expect: int, connections: int = 128) -> Outcome:
    """Start `rate` requests per second on a pool of connections; latency counts from the schedule."""
    with _no_collector_pauses():
        return await _open_loop(host, port, requests, rate, seconds, expect, connections)


async def _closed_loop(host: str, port: int, requests: list[bytes], clients: int, seconds: float,
                       expect: int) -> Outcome:
    source, latencies, counts = cycle(requests), [], [0, 0]
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        connection = _Connection(host, port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                status = await connection.send(next(source))
                latencies.append(time.perf_counter() - started)
                counts[0] += 1
                counts[1] += status == expect
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return Outcome(counts[0], counts[1], time.perf_counter() - started, latencies)


async def _open_loop(host: str, port: int, requests: list[bytes], rate: float, seconds: float,
                     expect: int, connections: int) -> Outcome:
    source, latencies, counts = cycle(requests), [], [0, 0]
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(_Connection(host, port))

    async def one(scheduled: float) -> None:
        connection = await pool.get()
        try:
            status = await connection.send(next(source))
            latencies.append(time.perf_counter() - scheduled)
            counts[1] += status == expect
        finally:
            pool.put_nowait(connection)

    tasks, started = [], time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        scheduled = started + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        counts[0] += 1
        tasks.append(asyncio.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    while not pool.empty():
        pool.get_nowait().close()
    return Outcome(counts[0], counts[1], elapsed, latencies)
