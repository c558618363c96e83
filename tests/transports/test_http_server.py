"""`transports.http_server.HttpApi`: the REST APIs of the components, served without uvicorn
taking the process's signals, stopped cleanly by a cancel."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest
from fastapi import FastAPI

from bidicharge.transports.http_server import HttpApi


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/ping")
    def ping() -> dict[str, str]:
        return {"pong": "ok"}

    return app


async def test_serves_on_a_free_port_and_a_cancel_closes_it() -> None:
    api = HttpApi(make_app(), "127.0.0.1", 0)
    assert api.port > 0 and api.url == f"http://127.0.0.1:{api.port}"
    before = signal.getsignal(signal.SIGTERM)
    task = asyncio.create_task(api.serve())
    async with httpx.AsyncClient(timeout=5.0) as client:
        r = await client.get(f"{api.url}/v1/ping")  # may come before uvicorn runs: waits in the backlog
        assert r.status_code == 200 and r.json() == {"pong": "ok"}
        assert signal.getsignal(signal.SIGTERM) is before  # the runner keeps its signals
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{api.url}/v1/ping")


async def test_stop_ends_serve_without_an_error() -> None:
    api = HttpApi(make_app())
    task = asyncio.create_task(api.serve())
    async with httpx.AsyncClient(timeout=5.0) as client:
        assert (await client.get(f"{api.url}/v1/ping")).status_code == 200
    api.stop()
    await asyncio.wait_for(task, 5.0)


def test_a_port_in_use_is_named() -> None:
    first = HttpApi(make_app())
    try:
        with pytest.raises(OSError, match=f"127.0.0.1:{first.port}"):
            HttpApi(make_app(), "127.0.0.1", first.port)
    finally:
        first._sock.close()
    with pytest.raises(ValueError, match="port must be"):
        HttpApi(make_app(), "127.0.0.1", 70000)
