"""Balancing reserves through the technical aggregator: the seed's I-25 ("forwards the TSO's
control signals to the plants without delay, via I-14/I-04").

The commercial aggregator says on I-23 how much symmetric FCR the pool holds and on which path
(``ReserveProvision``); :class:`ReserveBalancer` then

* picks the EVSEs that take part — a car that has to charge at full power to leave with its
  target (its remaining energy request from the CPO backend's live data, K15, plus
  ``DEPARTURE_MARGIN_S`` for a full-power FCR activation of 15 minutes and its recharge) stays
  out and charges at full power — and gives each a **baseline** (0 W for the others: symmetric
  headroom of a full charge and a full discharge);
* central path: turns every ``ReserveActivation`` into per-EVSE setpoints at once — the change
  shared pro rata to each EVSE's headroom in that direction (as ``control.frequency_reserve.
  allocate_pool`` does for the modelled pool) — and sends them to the CPO backend
  (``ActivateSetpoints`` on I-14 → SetChargingProfile CentralSetpoint on I-04);
* local path: sends each EVSE its frequency-watt curve once (``SetLocalFrequency`` on I-14 →
  SetChargingProfile LocalFrequency): its baseline at 50 Hz ± the deadband, its share of the
  held FCR at ± the full-activation deviation; the EVSE follows the frequency itself;
* re-plans when the set of taking-part EVSEs changes (a car arrives, leaves or must charge)
  and re-sends the activation in force;
* reports what the pool does (``ReserveStatus``) from the live data (I-14 meter values).

Pure bookkeeping lives in :func:`share_upward`; the component supplies the I-14 link and ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bidicharge.components.interfaces.i14_cpo_aggregator import (
    ActivateSetpoints,
    EvseActivation,
    EvseFrequencyDroop,
    EvseLive,
    FreqWattPoint,
    LiveData,
    LiveDataRequest,
    SetChargingSchedulesResult,
    SetLocalFrequency,
)
from bidicharge.components.interfaces.i23_flexibility import (
    ReserveActivation,
    ReserveActivationAnswer,
    ReserveProvision,
    ReserveProvisionAnswer,
    ReserveStatus,
    ReserveStatusRequest,
)
from bidicharge.runtime.ports import Link

#: FCR's limited energy reservoir: 15 minutes at full power (PQ conditions, BK6-17-234), and as
#: long again to recharge it — a car closer than this to needing full power for its target stays out
DEPARTURE_MARGIN_S = 1800.0
RESERVE_MESSAGES = (ReserveProvision, ReserveActivation, ReserveStatusRequest)


@dataclass(frozen=True, slots=True, kw_only=True)
class Headroom:
    baseline_W: float  # + charges
    upward_W: float  # down to the full discharge (≥ 0)
    downward_W: float  # up to the full charge (≥ 0)


def share_upward(request_upward_W: float, rooms: Mapping[str, Headroom]) -> tuple[dict[str, float], float]:
    """Setpoints (W, + charges) that move the EVSEs by ``request_upward_W`` from their baselines,
    shared pro rata to the headroom in that direction; and the shortfall (≥ 0)."""
    if request_upward_W >= 0:
        total = sum(r.upward_W for r in rooms.values())
        share = min(1.0, request_upward_W / total) if total > 0 else 0.0
        setpoints = {k: r.baseline_W - share * r.upward_W for k, r in rooms.items()}
        return setpoints, max(0.0, request_upward_W - total)
    total = sum(r.downward_W for r in rooms.values())
    share = min(1.0, -request_upward_W / total) if total > 0 else 0.0
    setpoints = {k: r.baseline_W + share * r.downward_W for k, r in rooms.items()}
    return setpoints, max(0.0, -request_upward_W - total)


def must_charge(e: EvseLive, now_s: float) -> bool:
    """The car needs (about) full power from now on, with the margin, to reach its target."""
    if e.departure_s is None or not e.energy_request_Wh or e.max_charge_power_W <= 0:
        return False
    needed_s = e.energy_request_Wh * 3600.0 / e.max_charge_power_W
    return now_s + needed_s + DEPARTURE_MARGIN_S >= e.departure_s


class ReserveBalancer:
    def __init__(self, cpo: Link) -> None:
        self.cpo = cpo
        self.provision: ReserveProvision | None = None
        self.rooms: dict[str, Headroom] = {}
        self.charging: dict[str, float] = {}  # EVSEs kept out: full charge (W)
        self.held_W = 0.0
        self.activation: ReserveActivation | None = None
        self.setpoints_W: dict[str, float] = {}
        self.refused: list[tuple[float, str, str]] = []  # (time, EVSE, reason) from the CPO backend
        self._live: dict[str, EvseLive] = {}
        self._now = 0.0

    @staticmethod
    def of(component: Any) -> ReserveBalancer:
        """The component's balancer (created on first use over its ``cpo`` I-14 link)."""
        balancer: ReserveBalancer | None = getattr(component, "_reserve_balancer", None)
        if balancer is None:
            cpo = component.link("cpo")
            if cpo is None:
                raise LookupError(f"{component.name}: port 'cpo' (I-14) is not wired, no reserves without it")
            balancer = ReserveBalancer(cpo)
            component._reserve_balancer = balancer
        return balancer

    # -- I-23 --------------------------------------------------------------------------------
    def handle(self, message: object, now_s: float) -> object:
        self._now = now_s
        if isinstance(message, ReserveProvision):
            return self.provide(message)
        if isinstance(message, ReserveActivation):
            return self.activate(message)
        return self.status()

    def provide(self, provision: ReserveProvision) -> ReserveProvisionAnswer:
        self.provision = provision
        self._plan(self._fetch())
        reason = "" if self.held_W >= provision.capacity_W else (
            f"the plugged-in cars hold {self.held_W:.0f} W in both directions")
        return ReserveProvisionAnswer(held_W=self.held_W, evses=len(self.rooms), reason=reason)

    def activate(self, activation: ReserveActivation) -> ReserveActivationAnswer:
        self.activation = activation
        shortfall = self._send_activation()
        return ReserveActivationAnswer(activation_id=activation.activation_id,
                                       accepted_upward_W=activation.upward_W - _signed(shortfall, activation.upward_W),
                                       shortfall_W=shortfall, evses=len(self.rooms))

    def status(self) -> ReserveStatus:
        live = self._fetch()
        power = sum(e.power_W for e in live.values() if e.connected)
        baseline = sum(r.baseline_W for r in self.rooms.values()) + sum(self.charging.values())
        return ReserveStatus(time_s=self._now, held_W=self.held_W, baseline_W=baseline, power_W=power,
                             upward_W=baseline - power)

    # -- each step: re-plan when the cars change -----------------------------------------------
    def step(self, now_s: float) -> None:
        self._now = now_s
        if self.provision is None:
            return
        live = self._fetch()
        if self._taking_part(live) != (set(self.rooms), set(self.charging)):
            self._plan(live)

    # -- internals ---------------------------------------------------------------------------
    def _fetch(self) -> dict[str, EvseLive]:
        data = self.cpo.request(LiveDataRequest())
        assert isinstance(data, LiveData)
        self._live = {e.evse_id: e for e in data.evses}
        return self._live

    def _taking_part(self, live: Mapping[str, EvseLive]) -> tuple[set[str], set[str]]:
        plugged = [e for e in live.values() if e.connected and e.max_charge_power_W > 0]
        out = {e.evse_id for e in plugged if must_charge(e, self._now)}
        return {e.evse_id for e in plugged} - out, out

    def _plan(self, live: Mapping[str, EvseLive]) -> None:
        assert self.provision is not None
        part, out = self._taking_part(live)
        self.charging = {k: live[k].max_charge_power_W for k in sorted(out)}
        self.rooms = {k: Headroom(baseline_W=0.0, upward_W=live[k].max_discharge_power_W,
                                  downward_W=live[k].max_charge_power_W) for k in sorted(part)}
        up = sum(r.upward_W for r in self.rooms.values())
        down = sum(r.downward_W for r in self.rooms.values())
        self.held_W = min(self.provision.capacity_W, up, down)
        if self.provision.path == "local":
            self._send_droops(up, down)
        else:
            self._send_activation()

    def _send_activation(self) -> float:
        request = 0.0 if self.activation is None else self.activation.upward_W
        request = max(-self.held_W, min(self.held_W, request))  # what is held, no more
        setpoints, shortfall = share_upward(request, self.rooms)
        setpoints.update(self.charging)
        self.setpoints_W = setpoints
        ident = self.activation.activation_id if self.activation is not None else "baseline"
        answer = self.cpo.request(ActivateSetpoints(
            activation_id=ident, time_s=self._now,
            activations=tuple(EvseActivation(evse_id=k, setpoint_W=v) for k, v in setpoints.items())))
        self._note(answer)
        wanted = 0.0 if self.activation is None else self.activation.upward_W
        return shortfall + abs(wanted - request)

    def _send_droops(self, up_total_W: float, down_total_W: float) -> None:
        p = self.provision
        assert p is not None
        droops = []
        for k, r in self.rooms.items():
            up = self.held_W * r.upward_W / up_total_W if up_total_W > 0 else 0.0
            down = self.held_W * r.downward_W / down_total_W if down_total_W > 0 else 0.0
            f0, db, full = p.nominal_Hz, p.deadband_Hz, p.full_deviation_Hz
            curve = (FreqWattPoint(frequency_Hz=f0 - full, power_W=-up), FreqWattPoint(frequency_Hz=f0 - db, power_W=0.0),
                     FreqWattPoint(frequency_Hz=f0 + db, power_W=0.0), FreqWattPoint(frequency_Hz=f0 + full, power_W=down))
            droops.append(EvseFrequencyDroop(evse_id=k, baseline_W=r.baseline_W, curve=curve))
        if droops:
            self._note(self.cpo.request(SetLocalFrequency(time_s=self._now, droops=tuple(droops))))
        if self.charging:  # kept out: a plain CentralSetpoint at full charge
            self._note(self.cpo.request(ActivateSetpoints(
                activation_id="departure", time_s=self._now,
                activations=tuple(EvseActivation(evse_id=k, setpoint_W=w) for k, w in self.charging.items()))))

    def _note(self, answer: object) -> None:
        assert isinstance(answer, SetChargingSchedulesResult)
        self.refused += [(self._now, evse, why) for evse, why in answer.rejected]


def _signed(magnitude: float, like: float) -> float:
    return magnitude if like >= 0 else -magnitude


def step_reserves(component: Any, now_s: float) -> None:
    """Each step of the technical aggregator: its balancer, if the commercial side asked for reserves."""
    balancer: ReserveBalancer | None = getattr(component, "_reserve_balancer", None)
    if balancer is not None:
        balancer.step(now_s)
