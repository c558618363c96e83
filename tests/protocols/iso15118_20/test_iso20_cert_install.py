"""CertificateInstallation (Plug & Charge without a contract yet): the EV installs a contract
through the SECC from a CPS built on a test PKI, then authorizes with it — over TLS 1.3 in memory."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from iso20_cps_pki import DER, EMAID, PCID, make_cps_pki
from iso20_helpers import T0, Pair, ask, header, secc_after_session_setup

from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct
from bidicharge.protocols.iso15118_20 import Evcc, EvccConfig, EvState, Secc, SeccConfig, pnc
from bidicharge.protocols.iso15118_20 import events as ev
from bidicharge.protocols.iso15118_20.cert_install import (
    ENCRYPTED_521_BYTES,
    aad,
    decrypt_private_key,
    installation_request,
)
from bidicharge.protocols.iso15118_20.errors import RemoteProtocolError
from bidicharge.protocols.iso15118_20.sap import NS_ISO20_AC
from bidicharge.protocols.iso15118_20.sim import SimpleEv, SimpleEvse
from bidicharge.transports.iso15118_tcp import evcc_tls_context, secc_tls_context

RC = ct.ResponseCode


@pytest.fixture(scope="module")
def pki():
    return make_cps_pki(dt.datetime.fromtimestamp(T0, tz=dt.UTC))


def _challenges():
    counter = itertools.count(1)
    return lambda: next(counter).to_bytes(16, "big")


def _secc_config(pki, installer=None) -> SeccConfig:
    return SeccConfig(pnc_trust_anchors=(pki.mo_root.public_bytes(DER),), new_challenge=_challenges(),
                      certificate_installer=pki.issuer() if installer is None else installer)


def _evcc_config(pki, provisioning=None) -> EvccConfig:
    return EvccConfig(namespaces=(NS_ISO20_AC,), loop_interval_s=1.0,
                      provisioning=provisioning or pki.provisioning)


def _ended(trace):
    (end,) = [e for e in trace if isinstance(e, ev.SessionEnded)]
    return end


class TlsInMemory:
    """SECC and EVCC joined by two TLS 1.3 endpoints over memory BIOs (no sockets)."""

    def __init__(self, server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext) -> None:
        self.s_in, self.s_out, self.c_in, self.c_out = (ssl.MemoryBIO() for _ in range(4))
        self.server = server_ctx.wrap_bio(self.s_in, self.s_out, server_side=True)
        self.client = client_ctx.wrap_bio(self.c_in, self.c_out, server_side=False)
        done = {self.server: False, self.client: False}
        for _ in range(10):
            for end in (self.client, self.server):
                if not done[end]:
                    try:
                        end.do_handshake()
                        done[end] = True
                    except ssl.SSLWantReadError:
                        pass
            self._carry()
            if all(done.values()):
                return
        raise AssertionError("TLS handshake did not complete")

    def _carry(self) -> None:
        self.s_in.write(self.c_out.read())
        self.c_in.write(self.s_out.read())

    @staticmethod
    def _read(end: ssl.SSLObject) -> bytes:
        out = b""
        while True:
            try:
                chunk = end.read(65536)
            except ssl.SSLWantReadError:
                return out
            if not chunk:
                return out
            out += chunk

    def run(self, secc: Secc, evcc: Evcc, on_step, now: float = T0) -> None:
        evcc.start(now)
        for _ in range(10_000):
            up = evcc.data_to_send()
            if up:
                self.client.write(up)
            self._carry()
            received = self._read(self.server)
            if received:
                secc.receive_data(received, now)
            down = secc.data_to_send()
            if down:
                self.server.write(down)
            self._carry()
            answered = self._read(self.client)
            if answered:
                evcc.receive_data(answered, now)
            on_step(now)
            if evcc.closed and secc.closed:
                return
            if evcc.closed and not up and not down:
                secc.connection_lost()
            if not up and not down and not received and not answered:
                deadlines = [d for d in (evcc.next_deadline(), secc.next_deadline()) if d is not None]
                if not deadlines:
                    return
                now = max(now, min(deadlines))
                evcc.handle_timeout(now)
                secc.handle_timeout(now)
        raise AssertionError("session did not end")


def test_install_a_contract_then_authorize_with_it_over_tls_in_memory(pki, tmp_path) -> None:
    chain, key, root = pki.write_tls(tmp_path)
    tls = TlsInMemory(secc_tls_context(cert_chain=chain, key=key), evcc_tls_context(v2g_roots=root))
    assert tls.client.version() == "TLSv1.3"
    assert tls.client.getpeercert(binary_form=True) == pki.secc.public_bytes(DER)
    issuer = pki.issuer()
    secc = Secc(_secc_config(pki, issuer))
    evcc = Evcc(EvState(soc=0.5, capacity_Wh=60_000), _evcc_config(pki))
    evse, car = SimpleEvse(secc), SimpleEv(evcc)
    loops = 0

    def step(now: float) -> None:
        nonlocal loops
        evse.on_events()
        before = len(car.trace)
        car.on_events(now)
        loops += sum(isinstance(e, ev.PowerCommanded) for e in car.trace[before:])
        if loops >= 2:
            evcc.stop()

    tls.run(secc, evcc, step)
    (installed,) = [e for e in car.trace if isinstance(e, ev.ContractCertificateInstalled)]
    assert installed.emaid == EMAID and issuer.issued == [EMAID]
    contract = installed.credentials
    assert isinstance(contract, pnc.ContractCredentials)
    cert = x509.load_der_x509_certificate(contract.certificate)
    assert contract.private_key.public_key().public_numbers() == cert.public_key().public_numbers()
    assert cert.issuer == pki.mo_sub.subject and evcc.config.contract == contract
    # the SECC saw the installation, then a Plug & Charge authorization with the new contract
    names = [type(e).__name__ for e in evse.trace]
    assert names.index("ContractCertificateInstalled") < names.index("AuthorizationRequested")
    (auth,) = [e for e in evse.trace if isinstance(e, ev.AuthorizationRequested)]
    assert auth.method == cm.Authorization.PnC and auth.emaid == EMAID
    assert _ended(evse.trace) == ev.SessionEnded() and _ended(car.trace) == ev.SessionEnded()
    assert loops >= 2  # energy was transferred under the new contract


def test_the_encrypted_key_has_the_sizes_of_the_standard_and_needs_the_right_aad(pki) -> None:
    secc, sid = secc_after_session_setup(_secc_config(pki))
    setup = ask(secc, cm.AuthorizationSetupReq(header=header(sid)))
    assert setup.certificate_installation_service is True
    res = ask(secc, installation_request(sid, T0, pki.provisioning))
    assert res.response_code is RC.OK and res.evse_processing is ct.Processing.Finished
    data = res.signed_installation_data
    assert len(data.dh_public_key) == 133 and data.dh_public_key[0] == 0x04  # uncompressed secp521r1 point
    assert len(data.secp521_encrypted_private_key) == ENCRYPTED_521_BYTES == 94
    contract = x509.load_der_x509_certificate(data.contract_certificate_chain.certificate)
    key = decrypt_private_key(data, pki.provisioning.private_key, aad(PCID, contract))
    assert key.public_key().public_numbers() == contract.public_key().public_numbers()
    with pytest.raises(RemoteProtocolError, match="does not decrypt"):
        decrypt_private_key(data, pki.provisioning.private_key, aad("XXXXXXXXXXXXXXXXXX", contract))
    with pytest.raises(RemoteProtocolError, match="does not decrypt"):  # another vehicle's key
        decrypt_private_key(data, ec.generate_private_key(ec.SECP521R1()), aad(PCID, contract))


def test_installation_data_signed_by_another_key_is_refused_by_the_ev(pki) -> None:
    issuer, stranger = pki.issuer(), ec.generate_private_key(ec.SECP521R1())

    def forging(request, now):
        answer = issuer(request, now)
        return dataclasses.replace(answer, signature=pnc.sign(answer.signed_installation_data, stranger))

    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), _evcc_config(pki), _secc_config(pki, forging))
    pair.run()
    assert _ended(pair.ev.trace).response_code is RC.FAILED_SignatureError
    assert not [e for e in pair.ev.trace if isinstance(e, ev.ContractCertificateInstalled)]


def test_a_cps_chain_from_an_untrusted_root_is_refused_by_the_ev(pki) -> None:
    other = make_cps_pki(dt.datetime.fromtimestamp(T0, tz=dt.UTC))
    provisioning = dataclasses.replace(pki.provisioning, v2g_roots=(other.v2g_root.public_bytes(DER),))
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), _evcc_config(pki, provisioning), _secc_config(pki))
    pair.run()
    end = _ended(pair.ev.trace)
    assert end.response_code is RC.WARNING_CertificateValidationError and "not issued by CN=V2GRootCA" in end.error  # same name, other key


def test_a_provisioning_chain_signed_with_another_key_is_a_signature_error(pki) -> None:
    forged = dataclasses.replace(pki.provisioning, private_key=ec.generate_private_key(ec.SECP521R1()))
    secc, sid = secc_after_session_setup(_secc_config(pki))
    ask(secc, cm.AuthorizationSetupReq(header=header(sid)))
    answer = ask(secc, installation_request(sid, T0, forged))
    assert answer.response_code is RC.FAILED_SignatureError and secc.closed


def test_a_vehicle_without_a_contract_at_the_cps_gets_no_matching_pcid(pki) -> None:
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), _evcc_config(pki), _secc_config(pki, pki.issuer({})))
    pair.run()
    assert _ended(pair.evse.trace).response_code is RC.WARNING_NoContractMatchingPCIDFound
    assert _ended(pair.ev.trace).response_code is RC.WARNING_NoContractMatchingPCIDFound


def test_a_provisioning_chain_from_an_unknown_oem_is_refused(pki) -> None:
    other = make_cps_pki(dt.datetime.fromtimestamp(T0, tz=dt.UTC))
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), _evcc_config(pki, other.provisioning), _secc_config(pki))
    pair.run()
    assert _ended(pair.evse.trace).response_code is RC.WARNING_CertificateValidationError


def test_installation_not_offered_is_a_sequence_error_and_the_ev_falls_back_to_eim(pki) -> None:
    plain = SeccConfig(pnc_trust_anchors=(pki.mo_root.public_bytes(DER),), new_challenge=_challenges())
    secc, sid = secc_after_session_setup(plain)
    assert ask(secc, cm.AuthorizationSetupReq(header=header(sid))).certificate_installation_service is False
    answer = ask(secc, installation_request(sid, T0, pki.provisioning))
    assert answer.response_code is RC.FAILED_SequenceError and secc.closed
    pair = Pair(EvState(soc=0.5, capacity_Wh=60_000), _evcc_config(pki), plain)
    pair.run({1: lambda p: p.evcc.stop()})
    (auth,) = [e for e in pair.evse.trace if isinstance(e, ev.AuthorizationRequested)]
    assert auth.method == cm.Authorization.EIM
    assert _ended(pair.evse.trace) == ev.SessionEnded()


def test_installation_after_authorization_is_out_of_sequence(pki) -> None:
    secc, sid = secc_after_session_setup(SeccConfig(certificate_installer=pki.issuer()))
    ask(secc, cm.AuthorizationSetupReq(header=header(sid)))
    ask(secc, cm.AuthorizationReq(header=header(sid), selected_authorization_service=cm.Authorization.EIM,
                                  eim_a_req_authorization_mode=cm.EIM_AReqAuthorizationMode()))
    answer = ask(secc, installation_request(sid, T0, pki.provisioning))
    assert answer.response_code is RC.FAILED_SequenceError
