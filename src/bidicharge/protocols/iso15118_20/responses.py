"""The response type of every request, and its smallest valid form for a failure answer.

When a request fails (out of sequence, unknown session, wrong value) the SECC still answers
with the response *of that request*, carrying the ``FAILED…`` code and only the mandatory
elements (ISO 15118-20 error handling: every request gets its response; mandatory elements filled with
values the EV must ignore after a FAILED code).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from bidicharge.protocols.exi.messages import ac, dc
from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct

_ZERO: Final = ct.RationalNumber(exponent=0, value=0)
_FIN: Final = ct.Processing.Finished

Header = ct.MessageHeader
Code = ct.ResponseCode

FAILED_RESPONSE: Final[dict[type[Any], Callable[[Header, Code], Any]]] = {
    cm.SessionSetupReq: lambda h, c: cm.SessionSetupRes(header=h, response_code=c, evseid=""),
    cm.AuthorizationSetupReq: lambda h, c: cm.AuthorizationSetupRes(
        header=h,
        response_code=c,
        authorization_services=(cm.Authorization.EIM,),
        certificate_installation_service=False,
        eim_as_res_authorization_mode=cm.EIM_ASResAuthorizationMode(),
    ),
    cm.AuthorizationReq: lambda h, c: cm.AuthorizationRes(header=h, response_code=c, evse_processing=_FIN),
    cm.CertificateInstallationReq: lambda h, c: cm.CertificateInstallationRes(
        header=h,
        response_code=c,
        evse_processing=_FIN,
        cps_certificate_chain=cm.CertificateChain(certificate=b"\x00"),
        signed_installation_data=cm.SignedInstallationData(
            id="SID0",
            contract_certificate_chain=cm.ContractCertificateChain(
                certificate=b"\x00", sub_certificates=cm.SubCertificates(certificate=(b"\x00",))
            ),
            ecdh_curve=cm.EcdhCurve.SECP521,
            dh_public_key=bytes(133),  # the schema fixes the lengths
            secp521_encrypted_private_key=bytes(94),
        ),
        remaining_contract_certificate_chains=0,
    ),
    cm.ServiceDiscoveryReq: lambda h, c: cm.ServiceDiscoveryRes(
        header=h,
        response_code=c,
        service_renegotiation_supported=False,
        energy_transfer_service_list=cm.ServiceList(service=(cm.Service(service_id=1, free_service=True),)),
    ),
    cm.ServiceDetailReq: lambda h, c: cm.ServiceDetailRes(
        header=h,
        response_code=c,
        service_id=0,
        service_parameter_list=cm.ServiceParameterList(
            parameter_set=(
                cm.ParameterSet(parameter_set_id=0, parameter=(cm.Parameter(name="-", int_value=0),)),
            )
        ),
    ),
    cm.ServiceSelectionReq: lambda h, c: cm.ServiceSelectionRes(header=h, response_code=c),
    cm.ScheduleExchangeReq: lambda h, c: cm.ScheduleExchangeRes(
        header=h,
        response_code=c,
        evse_processing=_FIN,
        dynamic_se_res_control_mode=cm.Dynamic_SEResControlMode(),
    ),
    cm.PowerDeliveryReq: lambda h, c: cm.PowerDeliveryRes(header=h, response_code=c),
    cm.SessionStopReq: lambda h, c: cm.SessionStopRes(header=h, response_code=c),
    cm.MeteringConfirmationReq: lambda h, c: cm.MeteringConfirmationRes(header=h, response_code=c),
    cm.VehicleCheckInReq: lambda h, c: cm.VehicleCheckInRes(header=h, response_code=c),
    cm.VehicleCheckOutReq: lambda h, c: cm.VehicleCheckOutRes(
        header=h, response_code=c, evse_check_out_status=cm.EvseCheckOutStatus.Completed
    ),
    ac.AC_ChargeParameterDiscoveryReq: lambda h, c: ac.AC_ChargeParameterDiscoveryRes(
        header=h,
        response_code=c,
        ac_cpd_res_energy_transfer_mode=ac.AC_CPDResEnergyTransferMode(
            evse_maximum_charge_power=_ZERO, evse_minimum_charge_power=_ZERO, evse_nominal_frequency=_ZERO
        ),
    ),
    ac.AC_ChargeLoopReq: lambda h, c: ac.AC_ChargeLoopRes(
        header=h,
        response_code=c,
        scheduled_ac_cl_res_control_mode=ac.Scheduled_AC_CLResControlMode(),
    ),
    dc.DC_ChargeParameterDiscoveryReq: lambda h, c: dc.DC_ChargeParameterDiscoveryRes(
        header=h,
        response_code=c,
        dc_cpd_res_energy_transfer_mode=dc.DC_CPDResEnergyTransferMode(
            evse_maximum_charge_power=_ZERO,
            evse_minimum_charge_power=_ZERO,
            evse_maximum_charge_current=_ZERO,
            evse_minimum_charge_current=_ZERO,
            evse_maximum_voltage=_ZERO,
            evse_minimum_voltage=_ZERO,
        ),
    ),
    dc.DC_CableCheckReq: lambda h, c: dc.DC_CableCheckRes(header=h, response_code=c, evse_processing=_FIN),
    dc.DC_PreChargeReq: lambda h, c: dc.DC_PreChargeRes(
        header=h, response_code=c, evse_present_voltage=_ZERO
    ),
    dc.DC_ChargeLoopReq: lambda h, c: dc.DC_ChargeLoopRes(
        header=h,
        response_code=c,
        evse_present_current=_ZERO,
        evse_present_voltage=_ZERO,
        evse_power_limit_achieved=False,
        evse_current_limit_achieved=False,
        evse_voltage_limit_achieved=False,
        scheduled_dc_cl_res_control_mode=dc.Scheduled_DC_CLResControlMode(),
    ),
    dc.DC_WeldingDetectionReq: lambda h, c: dc.DC_WeldingDetectionRes(
        header=h, response_code=c, evse_present_voltage=_ZERO
    ),
}


def failed_response(request_type: type[Any], header: Header, code: Code) -> Any | None:
    """The failure answer to a request of `request_type` (None for a type we cannot answer)."""
    build = FAILED_RESPONSE.get(request_type)
    return None if build is None else build(header, code)
