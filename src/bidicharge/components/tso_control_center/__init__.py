"""TSO control centre (C-TSO-CC): frequency control of the area over IEC 60870-5-104.

Controlling station on every link (study: cores paired in memory; live: TCP):

* I-51 plant operators: reads generation, schedule and the frequency measured at the plants;
  sends each operator its share of the aFRR demand (MW) of the load-frequency controller
  (``control.frequency_reserve.lfc_step``, PI on the area control error, one cycle per 4 s).
* I-24 commercial aggregators: sends the system frequency (C_SE_NC_1, for the central FCR path:
  every ``frequency_cycle_s`` when it moved by ``frequency_threshold_Hz``, else every
  ``frequency_refresh_s``) and the pool's aFRR set-point (its capacity's share of the demand);
  reads the pool's delivered and requested power and the FCR it holds.
* I-21 DSO control centre: sends the frequency every ``frequency_refresh_s``, reads the
  generation in the DSO's area.

The physical area (frequency) is ``hv_grid``; the TSO sees it only through its telemetry.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from bidicharge.components.interfaces.i2x_markets import I21, I24, I51, IEC104
from bidicharge.components.tso_control_center.telecontrol import ControlCentreLinks
from bidicharge.control.frequency_reserve import LfcParams, LfcState, lfc_step
from bidicharge.runtime.clock import Clock
from bidicharge.runtime.component import Component, ComponentConfig, Phase, RunContext, component_type
from bidicharge.runtime.ports import requires


class TsoConfig(ComponentConfig):
    frequency_cycle_s: float = Field(1.0, gt=0)
    frequency_threshold_Hz: float = Field(0.001, gt=0)
    frequency_refresh_s: float = Field(60.0, gt=0)
    send_frequency: bool = Field(True, description="send the frequency to the aggregators (central FCR path)")
    lfc_enabled: bool = True
    frequency_bias_MW_per_Hz: float = Field(5000.0, gt=0)
    proportional_gain: float = Field(0.2, ge=0)
    integral_time_s: float = Field(100.0, gt=0)
    lfc_cycle_s: float = Field(4.0, gt=0)
    afrr_capacity_MW: float = Field(1000.0, gt=0, description="aFRR contracted in the area (plants + pools)")
    afrr_pool_W: float = Field(0.0, ge=0, description="aFRR contracted from each aggregator's pool")


@component_type
class TsoControlCenter(Component):
    kind = "tso_control_center"
    catalogue_id = "C-TSO-CC"
    Config = TsoConfig
    PORTS = (
        requires("plant_operators", "I-51", IEC104, many=True, optional=True),
        requires("aggregators", "I-24", IEC104, many=True, optional=True),
        requires("dso", "I-21", IEC104, many=True, optional=True),
    )
    phase = Phase.CONTROL
    OBSERVABLES: ClassVar[tuple[str, ...]] = ("frequency_Hz", "afrr_MW", "pool_upward_W")

    def __init__(self, name: str, config: Any, context: RunContext) -> None:
        super().__init__(name, config, context)
        c: TsoConfig = config
        self.cfg = c
        self.telecontrol = ControlCentreLinks(self, ("plant_operators", "aggregators", "dso"))
        self.lfc = LfcParams(frequency_bias_MW_per_Hz=c.frequency_bias_MW_per_Hz, proportional_gain=c.proportional_gain,
                             integral_time_s=c.integral_time_s, cycle_s=c.lfc_cycle_s,
                             max_upward_MW=c.afrr_capacity_MW, max_downward_MW=c.afrr_capacity_MW)
        self.lfc_state = LfcState(next_cycle_s=context.start_s)
        self.frequency_Hz = 50.0
        self._sent_f: dict[int, tuple[float, float]] = {}  # id(end) -> (time, value)
        self._next_f = context.start_s
        self._sent_afrr: dict[int, float] = {}

    def step(self, now: float, dt_s: float) -> None:
        self.now = now
        ends = self.telecontrol.poll(now)
        measured = [e.values[I51.FREQUENCY_HZ] for e in ends["plant_operators"] if I51.FREQUENCY_HZ in e.values]
        if measured:
            self.frequency_Hz = sum(measured) / len(measured)
        if now >= self._next_f:
            self._next_f = now + self.cfg.frequency_cycle_s
            if self.cfg.send_frequency:
                for end in ends["aggregators"]:
                    self._send_frequency(end, I24.FREQUENCY_HZ, self.cfg.frequency_threshold_Hz, now)
            for end in ends["dso"]:
                self._send_frequency(end, I21.FREQUENCY_HZ, 1.0, now)
        if self.cfg.lfc_enabled and now >= self.lfc_state.next_cycle_s:
            self.lfc_state = lfc_step(self.lfc_state, self.frequency_Hz, now, self.lfc)
            demand_MW = self.lfc_state.setpoint_MW
            pool_W = self.cfg.afrr_pool_W
            pools_MW = pool_W * len(ends["aggregators"]) / 1e6
            share = demand_MW / self.cfg.afrr_capacity_MW
            for end in ends["aggregators"]:
                if pool_W > 0:
                    self._send_afrr(end, I24.AFRR_SETPOINT_W, share * pool_W, 0.01 * pool_W, now)
            operators = ends["plant_operators"]
            for end in operators:
                rest = demand_MW - share * pools_MW
                self._send_afrr(end, I51.AFRR_SETPOINT_MW, rest / len(operators), 0.1, now)

    def _send_frequency(self, end: Any, ioa: int, threshold: float, now: float) -> None:
        last = self._sent_f.get(id(end))
        f = round(self.frequency_Hz, 4)
        if last is None or abs(f - last[1]) >= threshold or now - last[0] >= self.cfg.frequency_refresh_s:
            if end.send_setpoint(ioa, f, now=now):
                self._sent_f[id(end)] = (now, f)

    def _send_afrr(self, end: Any, ioa: int, value: float, threshold: float, now: float) -> None:
        last = self._sent_afrr.get(id(end))
        if last is None or abs(value - last) >= threshold:
            if end.send_setpoint(ioa, value, now=now):
                self._sent_afrr[id(end)] = value

    def observe(self) -> tuple[float, ...]:
        pool = 0.0
        if self.telecontrol.by_port is not None:
            pool = sum(e.values.get(I24.POOL_UPWARD_W, 0.0) for e in self.telecontrol.by_port["aggregators"])
        return (self.frequency_Hz, self.lfc_state.setpoint_MW, pool)

    def report(self) -> dict[str, Any]:
        ends = self.telecontrol.by_port or {}
        return {port: {e.link.peer.name: {"confirmed": e.confirmed, "refused": e.refused} for e in group}
                for port, group in ends.items()}

    async def serve(self, clock: Clock) -> None:
        """Live mode: dial every peer's IEC 104 server."""
        await self.telecontrol.serve()
