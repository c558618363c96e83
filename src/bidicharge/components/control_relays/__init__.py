"""Ripple-control receivers (C-RELAYS, kind ``control_relays``): the legacy §14a path.

One instance is the group of receivers of one ripple group. A telegram for the group
(I-27) switches the potential-free contacts of every home wired on I-28 to the telegram's
step — not at once: a ripple telegram takes its time on the line and receivers add their
programmed delay (`switching_delay_s`), so the contacts change at the first step at or
after `received + switching_delay_s`. Telegrams for other groups are ignored.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from bidicharge.components.interfaces.i09_control_unit import ContactState
from bidicharge.components.interfaces.i27_ripple import RippleAccepted, RippleTelegram
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import Link, provides, requires


class ControlRelaysConfig(ComponentConfig):
    group: str
    switching_delay_s: float = Field(30.0, ge=0)


@component_type
class ControlRelays(Component):
    kind = "control_relays"
    catalogue_id = "C-RELAYS"
    Config = ControlRelaysConfig
    PORTS = (
        provides("ripple", "I-27", "in-memory", wire_protocol="ripple control"),
        requires("homes", "I-28", "potential-free contact", many=True),
    )
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("step",)

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        self.contact_step = 0
        self.pending: list[tuple[float, int, str]] = []  # (switch at, step, telegram id)
        self.switched: list[tuple[float, int, str]] = []

    def handle(self, port: str, message: object, link: Link) -> object:
        if self.context.clock is not None:
            self.now = max(self.now, self.context.clock.now())
        if isinstance(message, RippleTelegram):
            if message.group != self.config.group:
                return RippleAccepted(receivers=0, switch_at_s=self.now)
            at = self.now + self.config.switching_delay_s
            self.pending.append((at, message.step, message.telegram_id))
            return RippleAccepted(receivers=len(self.peers("homes")), switch_at_s=at)
        return super().handle(port, message, link)

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        due = [p for p in self.pending if p[0] <= now]
        self.pending = [p for p in self.pending if p[0] > now]
        for _, step, telegram in due:
            self.contact_step = step
            self.switched.append((now, step, telegram))
            for link in self.peers("homes"):
                link.request(ContactState(step=step))

    def observe(self) -> tuple[float, ...]:
        return (float(self.contact_step),)

    def report(self) -> dict[str, Any]:
        return {"switched": list(self.switched)}
