"""A TCP proxy of our own between the services and the broker, to add latency, black-hole and reset
connections on command. The broker advertises the proxy's port, so every client connection (not
only the bootstrap one) passes through it."""
from __future__ import annotations

import asyncio
import contextlib


class FaultyProxy:
    def __init__(self, listen_port: int, target_port: int, target_socket: str | None = None) -> None:
        """Listens on 127.0.0.1:`listen_port`; forwards to 127.0.0.1:`target_port`, or to the Unix
        socket `target_socket` if given (an embedded PostgreSQL listens on one only)."""
        self.listen_port, self.target_port, self.target_socket = listen_port, target_port, target_socket
        self.latency = 0.0  # seconds added to every chunk forwarded
        self.blackhole = False  # forward nothing (the bytes are held back, as on a dead link)
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.listen_port)

    async def stop(self) -> None:
        self.reset_all()
        if self._server is not None:
            self._server.close()

    def reset_all(self) -> None:
        """Abort every open connection, both sides, as a reset would."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            if self.target_socket is not None:
                broker_reader, broker_writer = await asyncio.open_unix_connection(self.target_socket)
            else:
                broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, broker_writer}
        await asyncio.gather(self._pipe(client_reader, broker_writer), self._pipe(broker_reader, client_writer),
                             return_exceptions=True)
        for writer in (client_writer, broker_writer):
            self._writers.discard(writer)
            writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while chunk := await reader.read(65536):
                while self.blackhole:
                    await asyncio.sleep(0.05)
                if self.latency:
                    await asyncio.sleep(self.latency)
                writer.write(chunk)
                await writer.drain()
        writer.transport.abort()  # one side gone: the other goes too
