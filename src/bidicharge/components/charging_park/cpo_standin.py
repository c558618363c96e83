"""The CPO backend's role on I-14, until ``components/cpo_backend`` is a scenario component.

``components/cpo_backend`` (the OCPP issue) is a CSMS with an I-14 REST API, not yet wired into
scenarios. This stand-in takes its place (catalogue C-CPO-BACKEND, kind ``cpo_standin``): it
answers the technical aggregator on I-14 (``interfaces/i14_cpo_aggregator.py``) from its park
of EVSEs on I-04, in memory — live data as OCPP's TransactionEvent/MeterValues would bring it,
schedules passed on per EVSE as SetChargingProfile would carry them (OCPP 2.1
``CentralSetpoint`` periods, positive and negative).
"""

from __future__ import annotations

from typing import Any

from bidicharge.components.interfaces.i14_cpo_aggregator import LiveDataRequest, SetChargingSchedules
from bidicharge.runtime.component import Component, ComponentConfig, Phase, component_type
from bidicharge.runtime.ports import Link, provides, requires


@component_type
class CpoStandin(Component):
    kind = "cpo_standin"
    catalogue_id = "C-CPO-BACKEND"
    Config = ComponentConfig
    PORTS = (
        provides("aggregator", "I-14", "in-memory", wire_protocol="OCPP 2.0.1, IEC 63110"),
        requires("evses", "I-04", "in-memory", wire_protocol="OCPP 2.0.1 / 2.1"),
    )
    phase = Phase.BACKEND

    def handle(self, port: str, message: object, link: Link) -> Any:
        if isinstance(message, (LiveDataRequest, SetChargingSchedules)):
            park = self.link("evses")
            assert park is not None
            self.now = link.local.now
            return park.request(message)
        return super().handle(port, message, link)
