"""Plug & Charge: signed AuthorizationReq with a contract chain the test generates (secp521r1)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from iso20_helpers import T0, Pair, ask, header, secc_after_session_setup

from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct
from bidicharge.protocols.iso15118_20 import EvccConfig, EvState, SeccConfig
from bidicharge.protocols.iso15118_20 import events as ev
from bidicharge.protocols.iso15118_20.pnc import ContractCredentials, sign
from bidicharge.protocols.iso15118_20.sap import NS_ISO20_AC

RC = ct.ResponseCode
START = dt.datetime.fromtimestamp(T0, tz=dt.UTC)
DER = serialization.Encoding.DER


def _cert(cn, key, issuer_cn, issuer_key, *, ca, days=365):
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(START - dt.timedelta(days=1))
        .not_valid_after(START + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA512())
    )


def _mo_pki(tag: str = "", *, days: int = 365):
    root_k, sub_k, leaf_k = (ec.generate_private_key(ec.SECP521R1()) for _ in range(3))
    root = _cert(f"MORootCA{tag}", root_k, f"MORootCA{tag}", root_k, ca=True)
    sub = _cert(f"MOSubCA{tag}", sub_k, f"MORootCA{tag}", root_k, ca=True)
    leaf = _cert("DE-BDC-C12345678-9", leaf_k, f"MOSubCA{tag}", sub_k, ca=False, days=days)
    contract = ContractCredentials(
        certificate=leaf.public_bytes(DER), sub_certificates=(sub.public_bytes(DER),), private_key=leaf_k
    )
    return root.public_bytes(DER), contract


@pytest.fixture(scope="module")
def pki():
    return _mo_pki()


def _challenges():
    counter = itertools.count(1)
    return lambda: next(counter).to_bytes(16, "big")


def _pair(trust_root: bytes, contract: ContractCredentials) -> Pair:
    config = EvccConfig(namespaces=(NS_ISO20_AC,), loop_interval_s=1.0, contract=contract)
    secc = SeccConfig(pnc_trust_anchors=(trust_root,), new_challenge=_challenges())
    return Pair(EvState(soc=0.5, capacity_Wh=60_000), config, secc)


def _ended(trace):
    (end,) = [e for e in trace if isinstance(e, ev.SessionEnded)]
    return end


def test_pnc_session_with_a_valid_contract(pki):
    root, contract = pki
    pair = _pair(root, contract)
    pair.run({2: lambda p: p.evcc.stop()})
    (auth,) = [e for e in pair.evse.trace if isinstance(e, ev.AuthorizationRequested)]
    assert auth.method == cm.Authorization.PnC and auth.emaid == "DE-BDC-C12345678-9"
    assert _ended(pair.evse.trace) == ev.SessionEnded()


def test_signature_by_another_key_is_a_signature_error(pki):
    root, contract = pki
    forged = ContractCredentials(
        certificate=contract.certificate,
        sub_certificates=contract.sub_certificates,
        private_key=ec.generate_private_key(ec.SECP521R1()),
    )
    pair = _pair(root, forged)
    pair.run()
    assert _ended(pair.evse.trace).response_code is RC.FAILED_SignatureError
    assert _ended(pair.ev.trace).response_code is RC.FAILED_SignatureError


def test_contract_from_an_untrusted_root_is_refused(pki):
    root, _ = pki
    _, stranger = _mo_pki("X")
    pair = _pair(root, stranger)
    pair.run()
    assert _ended(pair.evse.trace).response_code is RC.WARNING_CertificateValidationError


def test_expired_contract_is_refused(pki):
    root, _ = pki
    expired_root, expired = _mo_pki("E", days=-1)
    pair = _pair(expired_root, expired)
    pair.run()
    assert _ended(pair.evse.trace).response_code is RC.WARNING_CertificateValidationError


def test_replayed_challenge_is_invalid(pki):
    root, contract = pki
    secc, sid = secc_after_session_setup(SeccConfig(pnc_trust_anchors=(root,), new_challenge=_challenges()))
    setup = ask(secc, cm.AuthorizationSetupReq(header=header(sid)))
    assert setup.authorization_services == (cm.Authorization.EIM, cm.Authorization.PnC)
    element = cm.PnC_AReqAuthorizationMode(
        id="ID1",
        gen_challenge=b"\x00" * 16,  # not what the SECC sent
        contract_certificate_chain=cm.ContractCertificateChain(
            certificate=contract.certificate,
            sub_certificates=cm.SubCertificates(certificate=contract.sub_certificates),
        ),
    )
    signed = ct.MessageHeader(
        session_id=sid, time_stamp=int(T0), signature=sign(element, contract.private_key)
    )
    answer = ask(
        secc,
        cm.AuthorizationReq(
            header=signed,
            selected_authorization_service=cm.Authorization.PnC,
            pnc_a_req_authorization_mode=element,
        ),
    )
    assert answer.response_code is RC.WARNING_ChallengeInvalid and secc.closed


def test_pnc_not_offered_without_trust_anchors(pki):
    _, contract = pki
    config = EvccConfig(namespaces=(NS_ISO20_AC,), loop_interval_s=1.0, contract=contract)
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), config)  # SECC without PnC: the EV falls back to EIM
    pair.run({1: lambda p: p.evcc.stop()})
    (auth,) = [e for e in pair.evse.trace if isinstance(e, ev.AuthorizationRequested)]
    assert auth.method == cm.Authorization.EIM


def _confirm(p: Pair) -> None:
    p.secc.set_meter_reading(meter_id="MTR-1", charged_Wh=12_345, discharged_Wh=678)
    p.secc.request_metering_confirmation()


def test_metering_confirmation_is_signed_with_the_contract(pki):
    root, contract = pki
    pair = _pair(root, contract)
    pair.run({2: _confirm, 4: lambda p: p.evcc.stop()})
    (confirmed,) = [e for e in pair.evse.trace if isinstance(e, ev.MeteringConfirmed)]
    assert confirmed == ev.MeteringConfirmed(meter_id="MTR-1", charged_Wh=12_345, discharged_Wh=678, signed=True)
    assert [e for e in pair.ev.trace if isinstance(e, ev.MeterReading)][0].charged_Wh == 12_345
    assert _ended(pair.evse.trace) == ev.SessionEnded()


def test_metering_confirmation_signed_by_another_key_is_refused(pki):
    root, contract = pki
    pair = _pair(root, contract)
    forged = ContractCredentials(
        certificate=contract.certificate, sub_certificates=contract.sub_certificates,
        private_key=ec.generate_private_key(ec.SECP521R1()),
    )

    def swap_key_then_confirm(p: Pair) -> None:
        p.evcc.config = dataclasses.replace(p.evcc.config, contract=forged)
        _confirm(p)

    pair.run({2: swap_key_then_confirm})
    assert _ended(pair.evse.trace).response_code is RC.FAILED_MeteringSignatureNotValid


def test_metering_confirmation_without_pnc_is_unsigned():
    config = EvccConfig(namespaces=(NS_ISO20_AC,), loop_interval_s=1.0, meter_info_requested=True)
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), config)
    pair.secc.set_meter_reading(meter_id="MTR-1", charged_Wh=100)
    pair.run({2: _confirm, 4: lambda p: p.evcc.stop()})
    (confirmed,) = [e for e in pair.evse.trace if isinstance(e, ev.MeteringConfirmed)]
    assert not confirmed.signed
    readings = [e.charged_Wh for e in pair.ev.trace if isinstance(e, ev.MeterReading)]
    assert readings[0] == 100 and readings[-1] == 12_345  # every loop answer carried the meter


def test_unasked_metering_confirmation_is_a_sequence_error(pki):
    secc, sid = secc_after_session_setup()
    data = cm.SignedMeteringData(
        id="SMD1", session_id=sid, meter_info=ct.MeterInfo(meter_id="M", charged_energy_reading_wh=1),
        dynamic_smdt_control_mode=cm.Dynamic_SMDTControlMode(),
    )
    answer = ask(secc, cm.MeteringConfirmationReq(header=header(sid), signed_metering_data=data))
    assert answer.response_code is RC.FAILED_SequenceError
