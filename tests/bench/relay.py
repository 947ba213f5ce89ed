"""A TCP relay in front of PostgreSQL that counts round trips: how often a client, having heard
from the server, speaks again. Started in-process by query_count.py; standard library only.

Round trips are what a request pays the network for, whatever the statements are: a pool's
pre-ping, BEGIN and COMMIT are round trips that SQLAlchemy's statement events never see.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class Relay:
    """Listens on 127.0.0.1 (`port` once started) and forwards each connection to `connect()`."""

    def __init__(
        self, connect: Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
    ) -> None:
        self.connect = connect
        self.round_trips = 0
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.server.close()

    async def serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await self.connect()
        # True once the server has answered since the client last spoke: the client's next
        # bytes start a new round trip.
        answered = [True]

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, client: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if client and answered[0]:
                        self.round_trips += 1
                    answered[0] = not client
                    writer.write(data)
                    await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        await asyncio.gather(
            pump(client_reader, server_writer, client=True), pump(server_reader, client_writer, client=False)
        )
