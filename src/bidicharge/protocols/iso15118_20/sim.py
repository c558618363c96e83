"""Minimal owners for an SECC and an EVCC, and an in-memory pairing of the two.

`SimpleEvse` plays the charger's power stage (the DC output follows the pre-charge target
and drops to 0 V after PowerDelivery Stop); `SimpleEv` plays the vehicle (it follows the
commanded power within its limits and integrates its SoC over the time between charge-loop
answers). They let tests, the benchmark, the interop runner and the CLI run whole sessions;
the real owners are `components/evse` and `components/bev`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from . import events as ev
from .evcc import Evcc
from .secc import Secc


@dataclass(slots=True)
class SimpleEvse:
    secc: Secc
    trace: list[ev.SeccEvent] = field(default_factory=list)

    def on_events(self) -> None:
        for e in self.secc.events():
            self.trace.append(e)
            if isinstance(e, ev.PreChargeRequested):
                self.secc.set_dc_output(voltage_V=e.target_voltage_V)
            elif isinstance(e, ev.SessionEnded) or (
                isinstance(e, ev.PowerDeliveryRequested) and e.progress.value == "Stop"
            ):  # de-energise on Stop and whenever the session ends, cleanly or not
                self.secc.set_dc_output(voltage_V=0.0)
            elif isinstance(e, ev.EvStatus) and e.target_current_A is not None and e.present_voltage_V:
                self.secc.set_dc_output(voltage_V=e.present_voltage_V, current_A=e.target_current_A)


@dataclass(slots=True)
class SimpleEv:
    evcc: Evcc
    trace: list[ev.EvccEvent] = field(default_factory=list)
    energy_Wh: float = 0.0  # into the battery, positive charging
    _last_t: float | None = None

    def on_events(self, now: float) -> None:
        for e in self.evcc.events():
            self.trace.append(e)
            if isinstance(e, ev.PowerCommanded):
                self._step(now)
                s = self.evcc.ev
                target = e.target_power_W
                if target is None:  # the EV chooses within the window: charge to target, else discharge
                    max_c, max_d = e.max_charge_power_W or 0.0, e.max_discharge_power_W or 0.0
                    if max_c > 0 and s.soc < s.target_soc:
                        target = max_c
                    elif max_d > 0 and s.soc > s.min_soc:
                        target = -max_d
                    else:
                        target = 0.0
                p = max(-s.max_discharge_power_W, min(s.max_charge_power_W, target))
                if p < 0 and s.soc <= s.min_soc:
                    p = 0.0  # never below the minimum SoC
                current = p / s.present_voltage_V if s.present_voltage_V else 0.0
                self.evcc.update(dataclasses.replace(s, present_power_W=p, target_current_A=current))

    def _step(self, now: float) -> None:
        if self._last_t is not None:
            s = self.evcc.ev
            e_Wh = s.present_power_W * (now - self._last_t) / 3600.0
            self.energy_Wh += e_Wh
            soc = min(1.0, max(0.0, s.soc + e_Wh / s.capacity_Wh))
            self.evcc.update(dataclasses.replace(s, soc=soc))
        self._last_t = now


def run_in_memory(
    secc: Secc,
    evcc: Evcc,
    *,
    now: float,
    on_step: Callable[[Secc, Evcc, float], None] | None = None,
    max_steps: int = 100_000,
) -> float:
    """Exchange bytes until both sides close; time jumps to the next deadline when idle.

    `on_step(secc, evcc, now)` runs after every exchange (owners read events there).
    Returns the final time."""
    if evcc.state.value == "Idle":
        evcc.start(now)
    for _ in range(max_steps):
        to_secc = evcc.data_to_send()
        if to_secc:
            secc.receive_data(to_secc, now)
        to_evcc = secc.data_to_send()
        if to_evcc:
            evcc.receive_data(to_evcc, now)
        if on_step is not None:
            on_step(secc, evcc, now)
        if evcc.closed and not to_secc and not to_evcc:
            if not secc.closed:
                secc.connection_lost()
            return now
        if secc.closed and not to_evcc and not evcc.closed:
            evcc.connection_lost()
        if not to_secc and not to_evcc:
            deadlines = [d for d in (evcc.next_deadline(), secc.next_deadline()) if d is not None]
            if not deadlines:
                return now
            now = max(now, min(deadlines))
            evcc.handle_timeout(now)
            secc.handle_timeout(now)
    raise RuntimeError("session did not end within max_steps")
