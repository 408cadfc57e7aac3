"""A grpclib server for fake Sui nodes in tests: the service on 127.0.0.1 (any free port) in its
own thread and event loop; the fake gets `.url` (plaintext http, as a local `sui start` node)."""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from grpclib.server import Server


@contextmanager
def serving(fake: Any) -> Iterator[Any]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder = {}

    def run():
        asyncio.set_event_loop(loop)

        async def start():
            holder["server"] = Server([fake])
            await holder["server"].start("127.0.0.1", 0)

        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    fake.url = f"http://127.0.0.1:{holder['server']._server.sockets[0].getsockname()[1]}"
    try:
        yield fake
    finally:
        async def stop():
            holder["server"].close()
            await holder["server"].wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
