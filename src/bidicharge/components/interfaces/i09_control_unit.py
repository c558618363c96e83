"""I-09 control unit – HEMS (§14a EnWG): the power limit, its duration, status back.

This is the contract a HEMS implements to sit behind a control unit (the HEMS *provides*
the port, the control unit requires it). Two ways, as in the field:

* **EEBUS LPC** semantics (`PowerLimit`): the control unit is the Energy Guard, the HEMS the
  Controllable System; `limit_W = None` deactivates the limit. The HEMS answers with
  `GridGuardStatus` (applied, current consumption of its controllable devices, their demand).
* **Relay contacts** (`ContactState`, potential-free contacts of a control unit or of a
  ripple-control receiver, also on I-28): step 0 = unlimited, step k = the k-th configured
  limit; both ends are configured with the same steps by the installer.

* **EEBUS LPC over SPINE** (`SpineDatagrams`, `output: spine`): the SPINE datagrams of
  `protocols.spine` as EEBUS JSON text, the control unit's `EnergyGuard` talking to the
  HEMS's `ControllableSystem` (discovery, subscriptions, binding, limit writes, failsafe
  values, heartbeats both ways). The control unit drives the exchange: each request
  carries its datagrams, the answer the HEMS's datagrams for it; the limit and its
  duration, the failsafe (heartbeat lost for 120 s) are the LPC use case's.

`StatusRequest` asks for the status without changing anything. A HEMS must keep the limit
until `duration_s` after `issued_s` and then fall back to unlimited (a renewed command
arrives before). The §14a minimum is the DSO's and the control unit's business; the HEMS
applies what it gets, spread over its devices (BK6-22-300 Tenor 4.2, Anlage 1 §4.5.2).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class PowerLimit:
    command_id: str
    limit_W: float | None  # None: limit deactivated
    issued_s: float
    duration_s: float | None  # None: until further notice (used with limit_W None)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactState:
    step: int  # 0 = contacts open (unlimited); k = k-th configured limit step


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusRequest:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class GridGuardStatus:
    applied: bool  # the limit (or contact step) in force is applied
    limit_W: float | None  # the limit the HEMS applies now (None: unlimited)
    consumption_W: float  # grid draw of the controllable devices now
    demand_W: float  # what they would draw without a limit


@dataclass(frozen=True, slots=True, kw_only=True)
class SpineDatagrams:
    datagrams: tuple[str, ...]  # EEBUS JSON documents (SPINE datagrams), in order
