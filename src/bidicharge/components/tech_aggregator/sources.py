"""Where the technical aggregator's fleet data comes from and its schedules go: I-14 links.

One CPO backend (port ``cpo``) and any number of HEMS backends for home-charged cars (port
``homes``, contract ``interfaces/i14_hems_aggregator.py``). Live data of all of them is
merged into one view (home EVSEs are ``home.{site}``, so ids never clash), the owners' rules
of home cars arrive as ``VehicleView`` like the OEM backend's, and each schedule goes back
over the link that reported its EVSE. A HEMS backend that does not answer costs only its own
cars: they keep the schedules they have, the fault is recorded and the rest goes on.
"""

from __future__ import annotations

from collections.abc import Iterable

from bidicharge.components.interfaces.i02_telematics import VehicleView
from bidicharge.components.interfaces.i14_cpo_aggregator import (
    ChargingSchedule,
    EvseLive,
    LiveData,
    LiveDataRequest,
    SetChargingSchedules,
)
from bidicharge.components.interfaces.i14_hems_aggregator import HomeCars, HomeCarsRequest
from bidicharge.runtime.ports import Link

_UNREACHABLE = (ConnectionError, TimeoutError, OSError)


class FleetSources:
    def __init__(self, cpo: Link, homes: Iterable[Link], aggregator_id: str,
                 faults: list[tuple[float, str, str]]) -> None:
        self.cpo = cpo
        self.homes = list(homes)
        self.aggregator_id = aggregator_id
        self.faults = faults
        self._owner: dict[str, Link] = {}  # EVSE id -> the link that reported it
        self._home_views: dict[str, VehicleView] = {}

    def home_views(self, now_s: float) -> tuple[VehicleView, ...]:
        """The owners' rules of the home cars registered for us (last known if a backend is silent)."""
        for link in self.homes:
            try:
                answer = link.request(HomeCarsRequest(aggregator=self.aggregator_id))
            except _UNREACHABLE as exc:
                self.faults.append((now_s, "I-14", f"HEMS backend {link.peer.name} unreachable: {exc}"))
                continue
            assert isinstance(answer, HomeCars)
            for raw in answer.vehicles:
                view = VehicleView.model_validate(raw)
                self._home_views[view.vin] = view
        return tuple(self._home_views.values())

    def live(self, now_s: float) -> LiveData:
        """Live data of every EVSE; the CPO backend's outage raises, a HEMS backend's is recorded."""
        main = self.cpo.request(LiveDataRequest())
        assert isinstance(main, LiveData)
        evses: list[EvseLive] = list(main.evses)
        self._owner = {e.evse_id: self.cpo for e in evses}
        for link in self.homes:
            try:
                part = link.request(LiveDataRequest())
            except _UNREACHABLE as exc:
                self.faults.append((now_s, "I-14", f"HEMS backend {link.peer.name} unreachable: {exc}"))
                continue
            assert isinstance(part, LiveData)
            for e in part.evses:
                if e.evse_id not in self._owner:
                    self._owner[e.evse_id] = link
                    evses.append(e)
        return LiveData(time_s=main.time_s, evses=tuple(evses))

    def send(self, schedules: Iterable[ChargingSchedule], now_s: float) -> None:
        by_link: dict[int, tuple[Link, list[ChargingSchedule]]] = {}
        for sched in schedules:
            link = self._owner.get(sched.evse_id, self.cpo)
            by_link.setdefault(id(link), (link, []))[1].append(sched)
        for link, part in by_link.values():
            try:
                link.request(SetChargingSchedules(schedules=tuple(part)))
            except _UNREACHABLE as exc:
                self.faults.append((now_s, "I-14", f"schedules to {link.peer.name} not delivered: {exc}"))
