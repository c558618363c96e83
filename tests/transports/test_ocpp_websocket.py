"""OCPP-J over real WebSockets on loopback: subprotocols, both call directions, bad input,
security profiles 1/2/3 with certificates made by the test, reconnect with back-off, ping/pong."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from ocpp_certs import Pki, make_pki
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from bidicharge.protocols.ocppj import OcppVersion, v2_0_1, v2_1
from bidicharge.transports.ocpp_websocket import (
    Backoff,
    OcppCallError,
    OcppClient,
    OcppServer,
    OcppSession,
    ServerSecurity,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FAST = Backoff(wait_minimum_s=0.02, random_range_s=0.02, repeat_times=2)
BOOT = v2_1.BootNotificationRequest(reason=v2_1.BootReasonEnumType.POWER_UP,
                                    charging_station=v2_1.ChargingStationType(model="BiDi-11", vendor_name="bidicharge"))


def csms_setup(session: OcppSession) -> None:
    m = v2_1 if session.version is OcppVersion.V2_1 else v2_0_1
    session.router.add(m.BootNotificationRequest, lambda r: m.BootNotificationResponse(
        current_time=NOW, interval=300, status=m.RegistrationStatusEnumType.ACCEPTED))
    session.router.add(m.HeartbeatRequest, lambda r: m.HeartbeatResponse(current_time=NOW))


def station_setup(session: OcppSession) -> None:
    m = v2_1 if session.version is OcppVersion.V2_1 else v2_0_1
    session.router.add(m.SetChargingProfileRequest, lambda r: m.SetChargingProfileResponse(
        status=m.ChargingProfileStatusEnumType.ACCEPTED))


@pytest.fixture
async def csms() -> AsyncIterator[tuple[OcppServer, int]]:
    server = OcppServer(setup=csms_setup)
    port = await server.start()
    yield server, port
    await server.close()



async def with_client(client: OcppClient, body):  # type: ignore[no-untyped-def]
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(client.run())
        try:
            async with asyncio.timeout(10):
                return await body(await client.session())
        finally:
            task.cancel()


@pytest.mark.parametrize(("offered", "expected"), [
    ((OcppVersion.V2_1, OcppVersion.V2_0_1), OcppVersion.V2_1),
    ((OcppVersion.V2_0_1,), OcppVersion.V2_0_1),
])
async def test_subprotocol_is_negotiated_and_boot_works(csms: tuple[OcppServer, int], offered: tuple[OcppVersion, ...],
                                                        expected: OcppVersion) -> None:
    server, port = csms
    client = OcppClient(url=f"ws://127.0.0.1:{port}/ocpp", identity="CS1", versions=offered, backoff=FAST)

    async def body(session: OcppSession) -> None:
        assert session.version is expected
        m = v2_1 if expected is OcppVersion.V2_1 else v2_0_1
        boot = m.BootNotificationRequest(reason=m.BootReasonEnumType.POWER_UP,
                                         charging_station=m.ChargingStationType(model="x", vendor_name="y"))
        response = await session.call(boot)
        assert response.status == "Accepted" and response.interval == 300
        assert server.sessions["CS1"].version is expected

    await with_client(client, body)


async def test_handshake_without_a_common_subprotocol_is_refused(csms: tuple[OcppServer, int]) -> None:
    _, port = csms
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"ws://127.0.0.1:{port}/CS1", subprotocols=["ocpp1.6"], proxy=None):  # type: ignore[list-item]
            pass
    assert info.value.response.status_code == 400


async def test_csms_sets_a_v2x_profile_on_the_station(csms: tuple[OcppServer, int]) -> None:
    server, port = csms
    client = OcppClient(url=f"ws://127.0.0.1:{port}", identity="CS-V2X", setup=station_setup, backoff=FAST)

    async def body(session: OcppSession) -> None:
        await session.call(BOOT)
        request = v2_1.SetChargingProfileRequest(evse_id=1, charging_profile=v2_1.ChargingProfileType(
            id=3, stack_level=1, charging_profile_purpose=v2_1.ChargingProfilePurposeEnumType.TX_PROFILE,
            charging_profile_kind=v2_1.ChargingProfileKindEnumType.ABSOLUTE,
            charging_schedule=(v2_1.ChargingScheduleType(
                id=1, charging_rate_unit=v2_1.ChargingRateUnitEnumType.W, start_schedule=NOW,
                charging_schedule_period=(v2_1.ChargingSchedulePeriodType(
                    start_period=0, operation_mode=v2_1.OperationModeEnumType.CENTRAL_SETPOINT, setpoint=-5000),)),)))
        answer = await server.sessions["CS-V2X"].call(request)
        assert answer.status == "Accepted"

    await with_client(client, body)


async def test_bad_frames_get_callerrors_and_the_connection_survives(csms: tuple[OcppServer, int]) -> None:
    _, port = csms
    async with connect(f"ws://127.0.0.1:{port}/RAW1", subprotocols=["ocpp2.1"], proxy=None) as ws:  # type: ignore[list-item]
        await ws.send("this is not json")
        assert json.loads(await ws.recv())[:3] == [4, "-1", "RpcFrameworkError"]
        await ws.send('[2, "a", "Heartbeat", {"extra": true}]')
        assert json.loads(await ws.recv())[:3] == [4, "a", "FormatViolation"]
        await ws.send('[2, "b", "NotifyEVChargingNeeds", {"evseId": 1}]')
        assert json.loads(await ws.recv())[:3] == [4, "b", "OccurrenceConstraintViolation"]
        await ws.send('[2, "c", "Heartbeat", {}]')
        assert json.loads(await ws.recv()) == [3, "c", {"currentTime": "2025-06-01T12:00:00Z"}]


async def test_an_unanswered_call_times_out() -> None:
    async def slow_station(session: OcppSession) -> None:
        async def never(request: v2_1.GetVariablesRequest) -> v2_1.GetVariablesResponse:
            await asyncio.sleep(30)
            raise AssertionError("unreachable")

        session.router.add(v2_1.GetVariablesRequest, never)

    server = OcppServer(setup=csms_setup, call_timeout_s=0.2)
    port = await server.start()
    client = OcppClient(url=f"ws://127.0.0.1:{port}", identity="SLOW", setup=slow_station, backoff=FAST)

    async def body(session: OcppSession) -> None:
        await session.call(BOOT)
        request = v2_1.GetVariablesRequest(get_variable_data=(v2_1.GetVariableDataType(
            component=v2_1.ComponentType(name="SmartChargingCtrlr"), variable=v2_1.VariableType(name="Enabled")),))
        with pytest.raises(OcppCallError) as info:
            await server.sessions["SLOW"].call(request)
        assert info.value.code is None  # timeout

    try:
        await with_client(client, body)
    finally:
        await server.close()


async def test_station_reconnects_after_the_csms_drops_it(csms: tuple[OcppServer, int]) -> None:
    server, port = csms
    client = OcppClient(url=f"ws://127.0.0.1:{port}", identity="CS-R", backoff=FAST)

    async def body(first: OcppSession) -> None:
        await first.call(BOOT)
        await server.sessions["CS-R"].ws.close(1012, "service restart")
        await first.closed.wait()
        second = await client.session()
        assert second is not first
        assert (await second.call(BOOT)).status == "Accepted"
        assert client.connects == 2

    await with_client(client, body)


async def test_station_keeps_retrying_until_the_csms_appears() -> None:
    probe = OcppServer(setup=csms_setup)
    port = await probe.start()
    await probe.close()  # the port is now free: nobody listens yet
    client = OcppClient(url=f"ws://127.0.0.1:{port}", identity="CS-LATE", backoff=FAST)
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(client.run())
        await asyncio.sleep(0.2)  # let a few attempts fail
        assert client.connects == 0
        server = OcppServer(setup=csms_setup)
        await server.start(port=port)
        async with asyncio.timeout(10):
            session = await client.session()
            assert (await session.call(BOOT)).status == "Accepted"
        task.cancel()
    await server.close()


def test_backoff_doubles_up_to_repeat_times_plus_jitter() -> None:
    b = Backoff(wait_minimum_s=10, random_range_s=5, repeat_times=3)
    assert [b.delay_s(n, 0.0) for n in range(6)] == [10, 20, 40, 80, 80, 80]
    assert b.delay_s(0, 1.0) == 15


async def test_ping_pong_measures_latency(csms: tuple[OcppServer, int]) -> None:
    _, port = csms
    client = OcppClient(url=f"ws://127.0.0.1:{port}", identity="CS-P", backoff=FAST, ping_interval_s=0.05)

    async def body(session: OcppSession) -> None:
        pong = await session.ws.ping()
        async with asyncio.timeout(5):
            latency_s = await pong
        assert latency_s >= 0 and not session.closed.is_set()
        await asyncio.sleep(0.2)  # several keepalive pings go by; the connection stays up
        assert (await session.call(BOOT)).status == "Accepted"
        assert session.ws.latency > 0  # measured by the keepalive pings

    await with_client(client, body)


# ---- security profiles ---------------------------------------------------------------------

PASSWORDS = {"CS-SP1": "s3cret-password-1"}


def check_password(identity: str, password: str) -> bool:
    return PASSWORDS.get(identity) == password


async def try_boot(client: OcppClient) -> str:
    """Run the client until it boots, or until its connection attempt has been refused twice."""
    async with asyncio.TaskGroup() as tasks:
        task = tasks.create_task(client.run())
        try:
            async with asyncio.timeout(10):
                while True:
                    if client.connects:
                        session = await client.session()
                        return str((await session.call(BOOT)).status)
                    if len(client.failures) >= 2:
                        return "refused"
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"), ("CS-SP3", "CS-OTHER"))


@pytest.mark.parametrize(("profile", "password", "expected"), [
    (1, "s3cret-password-1", "Accepted"),
    (1, "wrong", "refused"),
    (1, None, "refused"),
    (2, "s3cret-password-1", "Accepted"),
    (2, "wrong", "refused"),
])
async def test_basic_auth_profiles(pki: Pki, profile: int, password: str | None, expected: str) -> None:
    tls = profile == 2
    security = ServerSecurity(profile=profile, check_password=check_password,
                              ssl_context=pki.server_context(require_client_cert=False) if tls else None)
    server = OcppServer(setup=csms_setup, security=security)
    port = await server.start()
    client = OcppClient(url=f"{'wss' if tls else 'ws'}://127.0.0.1:{port}", identity="CS-SP1", password=password,
                        ssl_context=pki.client_context() if tls else None, backoff=FAST)
    try:
        assert await try_boot(client) == expected
    finally:
        await server.close()


async def test_basic_auth_user_must_be_the_station_identity() -> None:
    server = OcppServer(setup=csms_setup, security=ServerSecurity(profile=1, check_password=lambda u, p: True))
    port = await server.start()
    header = {"Authorization": "Basic Q1MtU1AxOnMzY3JldA=="}  # CS-SP1:s3cret, but the path says CS-EVIL
    try:
        with pytest.raises(InvalidStatus) as info:
            async with connect(f"ws://127.0.0.1:{port}/CS-EVIL", subprotocols=["ocpp2.1"],  # type: ignore[list-item]
                               additional_headers=header, proxy=None):
                pass
        assert info.value.response.status_code == 401
    finally:
        await server.close()


@pytest.mark.parametrize(("cert_of", "expected"), [("CS-SP3", "Accepted"), ("CS-OTHER", "refused"), (None, "refused")])
async def test_mutual_tls_profile_3(pki: Pki, cert_of: str | None, expected: str) -> None:
    security = ServerSecurity(profile=3, ssl_context=pki.server_context(require_client_cert=True))
    server = OcppServer(setup=csms_setup, security=security)
    port = await server.start()
    client = OcppClient(url=f"wss://127.0.0.1:{port}", identity="CS-SP3", ssl_context=pki.client_context(cert_of),
                        backoff=FAST)
    try:
        assert await try_boot(client) == expected
    finally:
        await server.close()


def test_profile_3_needs_client_certificates(pki: Pki) -> None:
    with pytest.raises(ValueError, match="CERT_REQUIRED"):
        ServerSecurity(profile=3, ssl_context=pki.server_context(require_client_cert=False))
    with pytest.raises(ValueError):
        ServerSecurity(profile=2, check_password=check_password)
    assert isinstance(pki.client_context(), ssl.SSLContext)


async def test_handlers_may_be_coroutines_or_return_awaitables(csms: tuple[OcppServer, int]) -> None:
    server, port = csms

    async def get_variables(request: v2_1.GetVariablesRequest) -> v2_1.GetVariablesResponse:
        await asyncio.sleep(0)
        return v2_1.GetVariablesResponse(get_variable_result=tuple(v2_1.GetVariableResultType(
            attribute_status=v2_1.GetVariableStatusEnumType.ACCEPTED, attribute_value="300", component=d.component,
            variable=d.variable) for d in request.get_variable_data))

    def setup(session: OcppSession) -> None:
        session.router.add(v2_1.GetVariablesRequest, get_variables)
        session.router.add(v2_1.ResetRequest, lambda r: asyncio.sleep(0, v2_1.ResetResponse(
            status=v2_1.ResetStatusEnumType.SCHEDULED)))

    client = OcppClient(url=f"ws://127.0.0.1:{port}", identity="CS-A", setup=setup, backoff=FAST)

    async def body(session: OcppSession) -> None:
        await session.call(BOOT)
        station = server.sessions["CS-A"]
        got = await station.call(v2_1.GetVariablesRequest(get_variable_data=(v2_1.GetVariableDataType(
            component=v2_1.ComponentType(name="OCPPCommCtrlr"), variable=v2_1.VariableType(name="HeartbeatInterval")),)))
        assert got.get_variable_result[0].attribute_value == "300"
        reset = await station.call(v2_1.ResetRequest(type=v2_1.ResetEnumType.ON_IDLE))
        assert reset.status == "Scheduled"

    await with_client(client, body)


async def test_a_failing_handler_answers_internal_error_and_the_connection_stays(csms: tuple[OcppServer, int]) -> None:
    server, port = csms

    def broken(request: v2_1.ResetRequest) -> v2_1.ResetResponse:
        raise RuntimeError("relay stuck")

    def setup(session: OcppSession) -> None:
        session.router.add(v2_1.ResetRequest, broken)

    client = OcppClient(url=f"ws://127.0.0.1:{port}", identity="CS-B", setup=setup, backoff=FAST)

    async def body(session: OcppSession) -> None:
        await session.call(BOOT)
        with pytest.raises(OcppCallError) as info:
            await server.sessions["CS-B"].call(v2_1.ResetRequest(type=v2_1.ResetEnumType.IMMEDIATE))
        assert info.value.code == "InternalError"
        assert (await session.call(BOOT)).status == "Accepted"

    await with_client(client, body)
