"""A typed router per connection: request class -> handler.

Unlike a global route table, each connection owns its ``Router``, so handlers can close over
the station they talk to. Lookup failures are protocol answers (OCPP 2.x Part 4 §4.3): an
action the version knows but nobody handles is ``NotSupported``; unknown actions never get
here (the connection answers them ``NotImplemented``).

Handlers may be plain functions (sans-I/O use, ``dispatch``) or coroutines (the asyncio
transport awaits them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .errors import CallErrorReply, ErrorCode, LocalProtocolError
from .versions import OcppVersion, action_table

Req = TypeVar("Req")
Handler = Callable[[Any], Any]


class Router:
    def __init__(self, version: OcppVersion) -> None:
        self.version = version
        self._actions = action_table(version)
        self._handlers: dict[type[Any], Handler] = {}

    def on(self, request_type: type[Req]) -> Callable[[Callable[[Req], Any]], Callable[[Req], Any]]:
        """Decorator form of ``add``."""

        def register(handler: Callable[[Req], Any]) -> Callable[[Req], Any]:
            self.add(request_type, handler)
            return handler

        return register

    def add(self, request_type: type[Req], handler: Callable[[Req], Any] | Callable[[Req], Awaitable[Any]]) -> None:
        action = getattr(request_type, "ACTION", None)
        entry = self._actions.get(action) if isinstance(action, str) else None
        if entry is None or entry[0] is not request_type:
            raise LocalProtocolError(f"{request_type.__name__} is not a {self.version} request or SEND message")
        if request_type in self._handlers:
            raise LocalProtocolError(f"{request_type.__name__} already has a handler")
        self._handlers[request_type] = handler

    def handler_for(self, request: Any) -> Handler:
        """The handler of ``request``; raises ``CallErrorReply(NotSupported)`` when there is none."""
        try:
            return self._handlers[type(request)]
        except KeyError:
            raise CallErrorReply(ErrorCode.NOT_SUPPORTED, f"{type(request).ACTION} is not supported here") from None

    def dispatch(self, request: Any) -> Any:
        """Run a synchronous handler and return its response (sans-I/O use)."""
        result = self.handler_for(request)(request)
        if isinstance(result, Awaitable):
            raise LocalProtocolError(f"handler of {type(request).ACTION} is a coroutine; await it via the transport")
        return result
