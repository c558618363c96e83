"""bidicharge extension: a discharge power setpoint for a plugged-in EV (NOT an EEBUS use case).

SPINE 1.3.0 / the EEBUS use cases have a place for a discharge *limit* (LPP on the EVSE
entity, see :mod:`.lpc`) and for EV data (EVSOC, CEVC), but none for *commanding* a
discharge power: CEVC plans and incentive tables are about charging, and no open EEBUS
implementation has a V2X use case. Rather than bend a field (a negative OPEV current, a
negative CEVC slot), this extension is named and announced as what it is:

* use case ``x-bidicharge-evDischargeSetpoint`` version ``0.1.0`` (the ``x-`` prefix marks it as
  non-standard; peers that do not know it ignore it), actors ``EV`` (server) and ``CEM`` (client);
* data on a SPINE **Setpoint** server feature of the EV entity: ``setpointDescriptionListData``
  (setpointId 0, ``setpointType: valueAbsolute``, unit W, description
  ``bidicharge:dischargePower``) and ``setpointListData`` (setpointId 0, ``value`` in W,
  ``isSetpointActive``, optional ``timePeriod.endTime``), written partially by the bound CEM;
* **direction**: the value is the power *out of* the vehicle battery (W, >= 0); 0 or inactive
  means no discharge. It never exceeds the announced maximum and is further capped by any active
  LPP (production) limit on the EVSE — the component applies ``min(setpoint, LPP limit)``.

Replace with the official EEBUS V2X use case once it is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bidicharge.protocols.spine.device import Entity, Feature, FeatureRole, FunctionSpec, WriteRequest
from bidicharge.protocols.spine.errors import ErrorNumber
from bidicharge.protocols.spine.node import SpineNode
from bidicharge.protocols.spine.usecase_info import UseCaseSupport
from bidicharge.protocols.spine.usecases.common import (
    SETPOINT_DESCRIPTIONS,
    SETPOINTS,
    Actor,
    UseCaseName,
    items,
    scaled,
    unscaled,
)
from bidicharge.protocols.spine.values import format_duration_s

EXTENSION_VERSION: Final = "0.1.0"
SETPOINT_ID: Final = 0
DESCRIPTION: Final = "bidicharge:dischargePower"


@dataclass(frozen=True, slots=True, kw_only=True)
class DischargeSetpointChanged:
    discharge_power_W: float | None  # None: no discharge requested
    now: float


def install_server(node: SpineNode, ev: Entity, *, max_discharge_W: float) -> Feature:
    """Add the Setpoint server to the EV entity and announce the extension."""
    feature = ev.add_feature("Setpoint", FeatureRole.SERVER, (
        FunctionSpec(function=SETPOINT_DESCRIPTIONS),
        FunctionSpec(function=SETPOINTS, write=True, partial_write=True)))
    feature.data[SETPOINT_DESCRIPTIONS] = {"setpointDescriptionData": [
        {"setpointId": SETPOINT_ID, "setpointType": "valueAbsolute", "unit": "W", "description": DESCRIPTION}]}
    feature.data[SETPOINTS] = {"setpointData": [
        {"setpointId": SETPOINT_ID, "value": scaled(0), "valueMax": scaled(max_discharge_W),
         "isSetpointChangeable": True, "isSetpointActive": False}]}

    def guard(request: WriteRequest) -> ErrorNumber:
        for item in items(request.new_data, "setpointData"):
            value = unscaled(item.get("value"))
            if item.get("setpointId") != SETPOINT_ID or value is None or not 0 <= value <= max_discharge_W:
                return ErrorNumber.COMMAND_REJECTED
        return ErrorNumber.NO_ERROR

    feature.write_guards[SETPOINTS] = guard
    node.add_use_case(UseCaseSupport(entity=ev.address, actor=Actor.EV.value, name=UseCaseName.BIDICHARGE_DISCHARGE.value,
                                     version=EXTENSION_VERSION, scenarios=(1,), sub_revision="bidicharge"))
    return feature


def setpoint_W(feature: Feature) -> float | None:
    for item in items(feature.data.get(SETPOINTS), "setpointData"):
        if item.get("setpointId") == SETPOINT_ID and item.get("isSetpointActive"):
            return unscaled(item.get("value"))
    return None


def setpoint_write(power_W: float | None, *, duration_s: float | None = None) -> dict[str, object]:
    """The partial ``setpointListData`` a CEM writes (``None`` stops discharging)."""
    item: dict[str, object] = {"setpointId": SETPOINT_ID, "value": scaled(power_W or 0),
                               "isSetpointActive": power_W is not None and power_W > 0}
    if duration_s is not None:
        item["timePeriod"] = {"endTime": format_duration_s(duration_s)}
    return {"setpointData": [item]}


def effective_discharge_W(setpoint_W: float | None, lpp_limit_W: float | None) -> float:
    """What the wallbox may discharge now: the setpoint, capped by an active LPP limit (W, >= 0)."""
    if setpoint_W is None or setpoint_W <= 0:
        return 0.0
    return setpoint_W if lpp_limit_W is None else max(0.0, min(setpoint_W, lpp_limit_W))
