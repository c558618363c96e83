"""ISO 15118-20 over real sockets on loopback (::1): SDP over UDP, V2GTP over TCP.

One full AC_BPT Dynamic session SDP → SessionStop: charge, commanded −7 kW, stop; and a
DC_BPT Scheduled one. The SECC and the EVCC run in one event loop, owners included.
"""

from __future__ import annotations

import asyncio
import ssl

import pytest

from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.iso15118_20 import ControlMode, Evcc, EvccConfig, EvState, Secc, SeccConfig
from bidicharge.protocols.iso15118_20 import events as ev
from bidicharge.protocols.iso15118_20.sap import NS_ISO20_AC, NS_ISO20_DC
from bidicharge.protocols.iso15118_20.sim import SimpleEv, SimpleEvse
from bidicharge.transports.iso15118_tcp import SeccServer, connect_evcc, discover_secc


async def _session(evcc_config: EvccConfig, ev_state: EvState, script):
    evses: list[SimpleEvse] = []
    secc_done = asyncio.Event()

    def make_session():
        evse = SimpleEvse(Secc(SeccConfig()))
        evses.append(evse)

        def on_events(now: float) -> None:
            evse.on_events()
            if evse.secc.closed:
                secc_done.set()

        return evse.secc, on_events

    evcc = Evcc(ev_state, evcc_config)
    owner = SimpleEv(evcc)
    loops = 0

    def on_ev_events(now: float) -> None:
        nonlocal loops
        before = len(owner.trace)
        owner.on_events(now)
        for e in owner.trace[before:]:
            if isinstance(e, ev.PowerCommanded):
                loops += 1
                if loops in script:
                    script[loops](evses[0].secc, evcc)

    async with SeccServer(make_session, host="::1", sdp_port=0) as server:
        async with asyncio.timeout(20):
            found = await connect_evcc(
                evcc, on_events=on_ev_events, sdp_target="::1", sdp_port=server.sdp_port
            )
            await secc_done.wait()
    assert found.port == server.port
    return evses[0], owner


async def test_ac_bpt_dynamic_session_over_tcp_sdp_to_session_stop():
    config = EvccConfig(namespaces=(NS_ISO20_AC,), control_mode=ControlMode.DYNAMIC, loop_interval_s=0.01)
    evse, ev_owner = await _session(
        config,
        EvState(soc=0.5, capacity_Wh=60_000),
        {2: lambda secc, evcc: secc.set_power_target(-7_000), 4: lambda secc, evcc: evcc.stop()},
    )
    commanded = [c.target_power_W for c in ev_owner.trace if isinstance(c, ev.PowerCommanded)]
    assert commanded == [11_000.0, 11_000.0, -7_000.0, -7_000.0]
    reported = [s.present_power_W for s in evse.trace if isinstance(s, ev.EvStatus)]
    assert 11_000.0 in reported and reported[-1] == -7_000.0
    assert [e for e in evse.trace if isinstance(e, ev.SessionEnded)] == [ev.SessionEnded()]
    assert [e for e in ev_owner.trace if isinstance(e, ev.SessionEnded)] == [ev.SessionEnded()]


async def test_dc_bpt_scheduled_session_over_tcp():
    config = EvccConfig(
        namespaces=(NS_ISO20_DC,),
        control_mode=ControlMode.SCHEDULED,
        loop_interval_s=0.01,
        ongoing_interval_s=0.01,
    )
    evse, ev_owner = await _session(
        config, EvState(soc=0.5, capacity_Wh=60_000), {3: lambda secc, evcc: evcc.stop()}
    )
    progress = [p.progress for p in evse.trace if isinstance(p, ev.PowerDeliveryRequested)]
    assert progress == [cm.ChargeProgress.Start, cm.ChargeProgress.Stop]
    assert any(isinstance(e, ev.WeldingDetectionRequested) for e in evse.trace)
    assert [e for e in ev_owner.trace if isinstance(e, ev.SessionEnded)] == [ev.SessionEnded()]


async def test_secc_survives_a_peer_sending_garbage_and_serves_the_next():
    def make_session():
        secc = Secc(SeccConfig())
        return secc, None

    async with SeccServer(make_session, host="::1", sdp_port=0) as server:
        reader, writer = await asyncio.open_connection("::1", server.port)
        writer.write(b"\x01\xfe\x80\x02\x00\x00\x00\x04\x80\xff\xff\xff")
        await writer.drain()
        # EXI garbage before the SupportedAppProtocol handshake: nothing to answer, the SECC closes
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        found = await discover_secc(target="::1", port=server.sdp_port)
        assert found.port == server.port


async def test_discovery_gives_up_when_nobody_answers():
    with pytest.raises(TimeoutError):
        await discover_secc(target="::1", port=9, timeout_s=0.01, attempts=3)


# ---- TLS 1.3 with a test PKI the test generates -------------------------------------------------
from iso20_pki import make_pki  # noqa: E402

from bidicharge.protocols.iso15118_20 import sap, sdp  # noqa: E402
from bidicharge.protocols.iso15118_20.wire import encode_message  # noqa: E402
from bidicharge.transports.iso15118_tcp import evcc_tls_context, secc_tls_context  # noqa: E402


async def _tls_session(server_ctx, client_ctx):
    secc_done = asyncio.Event()
    seen: list = []

    def make_session():
        evse = SimpleEvse(Secc(SeccConfig()))

        def on_events(now: float) -> None:
            evse.on_events()
            if evse.secc.closed:
                seen.append(evse)
                secc_done.set()

        return evse.secc, on_events

    evcc = Evcc(
        EvState(soc=0.5, capacity_Wh=60_000), EvccConfig(namespaces=(NS_ISO20_AC,), loop_interval_s=0.01)
    )
    owner = SimpleEv(evcc)
    loops = 0

    def on_ev(now: float) -> None:
        nonlocal loops
        before = len(owner.trace)
        owner.on_events(now)
        loops += sum(isinstance(e, ev.PowerCommanded) for e in owner.trace[before:])
        if loops >= 2:
            evcc.stop()

    async with SeccServer(make_session, host="::1", sdp_port=0, ssl_context=server_ctx) as server:
        async with asyncio.timeout(20):
            found = await connect_evcc(
                evcc, on_events=on_ev, sdp_target="::1", sdp_port=server.sdp_port, ssl_context=client_ctx
            )
            await secc_done.wait()
    return found, owner, seen[0]


async def test_tls13_session_with_v2g_pki_and_vehicle_certificate(tmp_path):
    pki = make_pki(tmp_path)
    server_ctx = secc_tls_context(cert_chain=pki.secc_chain, key=pki.secc_key, client_roots=pki.oem_root)
    client_ctx = evcc_tls_context(v2g_roots=pki.v2g_root, cert_chain=pki.vehicle_chain, key=pki.vehicle_key)
    found, owner, evse = await _tls_session(server_ctx, client_ctx)
    assert found.security == sdp.Security.TLS  # SDP announced TLS
    assert [e for e in owner.trace if isinstance(e, ev.SessionEnded)] == [ev.SessionEnded()]
    assert [e for e in evse.trace if isinstance(e, ev.SessionEnded)] == [ev.SessionEnded()]


async def test_evcc_refuses_an_secc_from_another_pki_and_the_server_stays_up(tmp_path):
    good, other = make_pki(tmp_path), make_pki(tmp_path, tag="_other")
    server_ctx = secc_tls_context(cert_chain=good.secc_chain, key=good.secc_key)

    async with SeccServer(
        lambda: (Secc(SeccConfig()), None), host="::1", sdp_port=0, ssl_context=server_ctx
    ) as server:
        evcc = Evcc(EvState(soc=0.5, capacity_Wh=60_000), EvccConfig(namespaces=(NS_ISO20_AC,)))
        with pytest.raises(ssl.SSLCertVerificationError):
            await connect_evcc(
                evcc,
                sdp_target="::1",
                sdp_port=server.sdp_port,
                ssl_context=evcc_tls_context(v2g_roots=other.v2g_root),
            )
        # the same server then serves an EVCC that trusts its root
        reader, writer = await asyncio.open_connection(
            "::1", server.port, ssl=evcc_tls_context(v2g_roots=good.v2g_root)
        )
        assert writer.get_extra_info("ssl_object").version() == "TLSv1.3"
        writer.close()


async def test_secc_requiring_a_vehicle_certificate_rejects_an_evcc_without_one(tmp_path):
    pki = make_pki(tmp_path)
    server_ctx = secc_tls_context(cert_chain=pki.secc_chain, key=pki.secc_key, client_roots=pki.oem_root)
    async with SeccServer(
        lambda: (Secc(SeccConfig()), None), host="::1", sdp_port=0, ssl_context=server_ctx
    ) as server:
        reader, writer = await asyncio.open_connection(
            "::1", server.port, ssl=evcc_tls_context(v2g_roots=pki.v2g_root)
        )
        # TLS 1.3: the client learns of the refusal only when it reads. An accepted connection
        # would answer this SupportedAppProtocolReq; a refused one yields an alert or EOF.
        writer.write(encode_message(sap.offer()))
        try:
            answer = await asyncio.wait_for(reader.read(), 5)
        except (ssl.SSLError, ConnectionError):
            answer = b""
        assert answer == b""
        writer.close()
