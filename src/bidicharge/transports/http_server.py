"""One way for a component to serve its REST API (FastAPI/ASGI) in live mode.

Six components serve an HTTP API beside their protocol (tariff I-45, HEMS backend I-07, OEM
backend I-12/I-13, technical aggregator I-11/I-23, energy market I-44/I-53/I-54, CPO backend
I-14). Each used to bind a socket and drive uvicorn by hand, and uvicorn's defaults do not suit a
process that runs many servers under one runner:

* ``Server.serve`` installs its own SIGINT/SIGTERM handlers (``capture_signals``) and re-raises
  the signal after shutdown, so a stopped API would take the whole ``bidicharge up`` down with it,
  and a stale test process ignores SIGTERM; the runner owns the signals, the API never does.
* the ASGI lifespan protocol is not used by our apps; with it on, cancelling the server prints a
  ``CancelledError`` traceback from the lifespan task at every shutdown.
* cancelling ``serve`` mid-flight skips uvicorn's shutdown (open connections, the socket); here a
  cancel asks uvicorn to exit and waits for it, bounded by ``graceful_s``, then re-raises.

The socket is bound when the object is made, so the caller knows its URL (port 0 picks a free
port) before the server runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn


class _RunnerOwnsSignals(uvicorn.Server):
    """uvicorn without its signal handlers: stopping is the runner's job (see module docstring)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpApi:
    """An ASGI app on ``host:port``, bound now, served by :meth:`serve` until cancelled."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, *, graceful_s: float = 2.0) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0..65535, got {port}")
        self.app = app
        self.host = host
        self._graceful_s = graceful_s
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise OSError(exc.errno, f"cannot bind the REST API to {host}:{port}: {exc.strerror}") from None
        self._sock.listen(128)  # clients that come before uvicorn runs wait in the backlog, not refused
        self.port: int = self._sock.getsockname()[1]
        self._server: _RunnerOwnsSignals | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def serve(self) -> None:
        """Serve until cancelled; on cancel, shut uvicorn down cleanly and re-raise."""
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off",
                                timeout_graceful_shutdown=max(1, round(self._graceful_s)))
        server = self._server = _RunnerOwnsSignals(config)
        task = asyncio.ensure_future(server.serve(sockets=[self._sock]))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(task, self._graceful_s + 1.0)
            raise
        finally:
            self._sock.close()

    def stop(self) -> None:
        """Ask a running server to exit (its :meth:`serve` then returns)."""
        if self._server is not None:
            self._server.should_exit = True
