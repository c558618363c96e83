"""CLS management (C-CLS-MGMT, kind ``cls_management``): takes the DSO backend's §14a control
orders (I-20), keeps the book of what was sent to which unit, and hands them to the aEMP
that holds the CLS permissions (I-29). A release for a command it never passed on, or an
order without a channel, is refused here and logged."""

from __future__ import annotations

import logging
from typing import Any

from bidicharge.components.interfaces.i10_cls import DimmingCommand, LimitRelease
from bidicharge.components.interfaces.i20_dso import ControlOrder, ControlOutcome
from bidicharge.runtime.component import Component, ComponentConfig, Phase, component_type
from bidicharge.runtime.ports import Link, provides, requires

log = logging.getLogger(__name__)


@component_type
class ClsManagement(Component):
    kind = "cls_management"
    catalogue_id = "C-CLS-MGMT"
    Config = ComponentConfig
    PORTS = (
        provides("dso", "I-20", "in-memory", wire_protocol="BSI TR-03109"),
        requires("aemp", "I-29", "in-memory", wire_protocol="tbd (seed)"),
    )
    phase = Phase.BACKEND

    def __init__(self, name: str, config: Any, context: Any) -> None:
        super().__init__(name, config, context)
        self.book: list[tuple[float, str, str, str]] = []  # (time, order, unit, outcome)
        self._passed: set[str] = set()

    def handle(self, port: str, message: object, link: Link) -> object:
        if self.context.clock is not None:
            self.now = max(self.now, self.context.clock.now())
        if isinstance(message, ControlOrder):
            payload = message.payload
            if not message.channel_id:
                outcome = ControlOutcome(order_id=message.order_id, unit_id=message.unit_id, delivered=False,
                                         reason="no-cls-channel")
            elif isinstance(payload, LimitRelease) and payload.releases_command_id not in self._passed:
                outcome = ControlOutcome(order_id=message.order_id, unit_id=message.unit_id, delivered=False,
                                         reason="unknown-command")
            else:
                aemp = self.link("aemp")
                assert aemp is not None
                outcome = aemp.request(message)
                if isinstance(payload, DimmingCommand) and outcome.delivered:
                    self._passed.add(payload.command_id)
            self.book.append((self.now, message.order_id, message.unit_id, outcome.reason))
            if not outcome.delivered:
                log.warning("CLS management %s: order %s for %s not delivered: %s", self.name, message.order_id,
                            message.unit_id, outcome.reason)
            return outcome
        return super().handle(port, message, link)

    def report(self) -> dict[str, Any]:
        return {"orders": len(self.book), "not_delivered": [b for b in self.book if b[3] != "allowed"]}
