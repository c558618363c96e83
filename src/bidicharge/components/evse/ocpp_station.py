"""The OCPP side of an EVSE (C-EVSE on I-04/I-05): a charging-station engine for OCPP 2.0.1 / 2.1.

It boots (B01), sends heartbeats (G02) and connector status (G01), authorises (C01), runs
transactions with meter values that keep imported and exported energy apart (E01–E07,
``Energy.Active.Import.Register`` / ``Energy.Active.Export.Register``), answers a minimal
device model (B06/B05 Get/SetVariables), remote start/stop (F01/F03), Reset (B11/B12),
TriggerMessage (F06), and smart charging (K01 SetChargingProfile, K10 ClearChargingProfile,
K08 GetCompositeSchedule) with the OCPP 2.1 V2X fields: ``operationMode``, ``setpoint``
(negative = discharge), ``dischargeLimit``, per-phase ``_L2``/``_L3``. The limits in force are
handed to ``power_stage(evse_id, limits)`` — the EVSE's power electronics, or the ISO 15118-20
session to the vehicle once that is wired. What needs no I/O (building the requests, the smart-charging,
device-model and reset answers) lives in :class:`.ocpp_station_core.StationCore`, which the study
mode of the ``evse`` component shares; this class adds the connection, the heartbeat, the offline
queue and the CSMS requests that start work of their own (remote start/stop, TriggerMessage).

Offline behaviour (E04, "transaction-related messages ... queued"): transaction events, and the
EV's charging needs raised while offline (K15: the CSMS must not miss them), go through a queue on disk (one JSON line each) and leave it only after the CSMS answered them,
in order; events queued while offline are marked ``offline: true``. A CSMS that stores by
(transaction, seqNo) therefore gets every event exactly once, also across a restart.

A plain asyncio class: time from the injected ``now()``, waiting through the injected ``sleep``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bidicharge.protocols.ocppj import OcppVersion
from bidicharge.transports.ocpp_websocket import OcppCallError, OcppClient, OcppSession

from .ocpp_station_core import AppliedLimits, StationCore, messages_of

__all__ = ["AppliedLimits", "OcppStation", "TxQueue"]

log = logging.getLogger(__name__)


class TxQueue:
    """Transaction events waiting for the CSMS, kept in a JSON-lines file (or in memory)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.items: list[dict[str, Any]] = []
        if path is not None and path.exists():
            self.items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def __len__(self) -> int:
        return len(self.items)

    def append(self, item: dict[str, Any]) -> None:
        self.items.append(item)
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(item) + "\n")
                f.flush()
                os.fsync(f.fileno())

    def pop_head(self) -> None:
        self.items.pop(0)
        if self.path is not None:
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text("".join(json.dumps(i) + "\n" for i in self.items), encoding="utf-8")
            os.replace(tmp, self.path)


class OcppStation:
    def __init__(
        self,
        *,
        identity: str,
        url: str,
        now: Callable[[], datetime],
        evse_count: int = 1,
        queue_path: Path | None = None,
        power_stage: Callable[[int, AppliedLimits], None] | None = None,
        new_transaction_id: Callable[[], str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        versions: Sequence[OcppVersion] = (OcppVersion.V2_1, OcppVersion.V2_0_1),
        vendor: str = "bidicharge",
        model: str = "BiDi-AC-11",
        core: StationCore | None = None,
        on_session: Callable[[OcppSession], None] | None = None,
        **client_options: Any,
    ) -> None:
        self.identity = identity
        self.now = now
        self.sleep = sleep
        # ``core``: one the EVSE component already holds (its study/live state); else our own
        self.core = core or StationCore(identity=identity, now=now, evse_count=evse_count, power_stage=power_stage,
                                        new_transaction_id=new_transaction_id, vendor=vendor, model=model)
        self.evses = self.core.evses
        self.variables = self.core.variables
        self.resets = self.core.resets
        self.queue = TxQueue(queue_path)
        self.accepted = asyncio.Event()  # BootNotification accepted on the current connection
        self.session: OcppSession | None = None
        self.on_session = on_session  # sees every new connection first (e.g. to trace its frames)
        self._flush_lock = asyncio.Lock()
        self._tasks: asyncio.TaskGroup | None = None
        self.client = OcppClient(url=url, identity=identity, setup=self._setup, on_connected=self._on_connected,
                                 versions=versions, **client_options)

    # ---- lifecycle ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect (and reconnect) until cancelled; owns the station's background tasks."""
        async with asyncio.TaskGroup() as tasks:
            self._tasks = tasks
            await self.client.run()

    def _spawn(self, work: Awaitable[Any]) -> None:
        async def guarded() -> None:
            try:
                await work
            except (OcppCallError, ConnectionError) as exc:
                log.warning("OCPP station %s: %s", self.identity, exc)

        assert self._tasks is not None, "run() owns the background tasks"
        self._tasks.create_task(guarded())

    @property
    def m(self) -> Any:
        return self.core.m

    @property
    def online(self) -> bool:
        return self.session is not None and self.accepted.is_set()

    def _setup(self, session: OcppSession) -> None:
        if self.on_session is not None:
            self.on_session(session)
        self.core.version = session.version
        m = messages_of(session.version)
        self.core.register(session.router)
        add = session.router.add
        add(m.RequestStartTransactionRequest, self._on_remote_start)
        add(m.RequestStopTransactionRequest, self._on_remote_stop)
        add(m.TriggerMessageRequest, self._on_trigger)

    async def _on_connected(self, session: OcppSession) -> None:
        self.session = session
        self.accepted.clear()
        try:
            while True:  # B02/B03: Pending/Rejected -> retry after the given interval
                response = await session.call(self.core.boot_request("PowerUp"))
                if response.status == "Accepted":
                    break
                await self.sleep(max(1, response.interval))
            self.variables[("OCPPCommCtrlr", "HeartbeatInterval")] = str(response.interval)
            for evse_id in self.evses:
                await session.call(self.core.status_request(evse_id))
            self.accepted.set()
            await self._flush()
            while True:
                await self.sleep(float(self.variables[("OCPPCommCtrlr", "HeartbeatInterval")]))
                await session.call(self.core.heartbeat_request())
        finally:
            if self.session is session:
                self.session = None
                self.accepted.clear()

    # ---- local events (from the EVSE component) ----------------------------------------------
    async def set_connector_status(self, evse_id: int, status: str) -> None:
        """``Available``, ``Occupied`` (EV plugged in), ``Unavailable``, ``Faulted``."""
        self.evses[evse_id].connector_status = status
        if self.session is not None and self.accepted.is_set():
            await self.session.call(self.core.status_request(evse_id))

    async def authorize(self, id_token: str) -> str:
        """C01; offline the token is not known: ``"Offline"`` (no local list here)."""
        session = self.session
        if session is None or not self.accepted.is_set():
            return "Offline"
        response = await session.call(self.core.authorize_request(id_token))
        return str(response.id_token_info.status)

    async def start_transaction(self, evse_id: int, id_token: str | None, *, trigger: str = "Authorized",
                                remote_start_id: int | None = None, token_type: str = "ISO14443") -> str:
        evse = self.evses[evse_id]
        if self.core.begin_transaction(evse_id, id_token, token_type):
            await self._transaction_event(evse_id, "Started", trigger, id_token=id_token,
                                          remote_start_id=remote_start_id)
        assert evse.transaction_id is not None
        return evse.transaction_id

    async def report_meter(self, evse_id: int, *, import_Wh: float, export_Wh: float, soc: float | None = None) -> None:
        """E02 periodic meter values; the registers only ever grow."""
        self.core.set_registers(evse_id, import_Wh=import_Wh, export_Wh=export_Wh)
        self.core.refresh()  # a schedule's next period may have begun
        if self.evses[evse_id].transaction_id is not None:
            await self._transaction_event(evse_id, "Updated", "MeterValuePeriodic", soc=soc)

    async def stop_transaction(self, evse_id: int, *, reason: str = "Local", trigger: str = "StopAuthorized") -> None:
        if self.evses[evse_id].transaction_id is None:
            return
        await self._transaction_event(evse_id, "Ended", trigger, stopped_reason=reason)
        self.core.end_transaction(evse_id)

    async def notify_ev_charging_needs(self, evse_id: int, charging_needs: Any) -> str:
        """K15/Q: the EV's needs (2.1 incl. ``v2xChargingParameters``) go up to the CSMS. Offline
        they wait in the queue behind the transaction events (nothing lost): ``"Queued"``."""
        request = self.core.charging_needs_request(evse_id, charging_needs)
        if not self.online:
            self.queue.append({"action": "NotifyEVChargingNeeds", "payload": request.to_wire()})
            return "Queued"
        assert self.session is not None
        response = await self.session.call(request)
        return str(response.status)

    async def notify_ev_charging_schedule(self, evse_id: int, charging_schedule: Any) -> str:
        """K17: the schedule the EV plans (from ISO 15118-20) goes up to the CSMS; ``charging_schedule``
        is a ``ChargingScheduleType`` of either version."""
        session = self.session
        if session is None or not self.accepted.is_set():
            return "Offline"
        response = await session.call(self.core.charging_schedule_request(evse_id, charging_schedule))
        return str(response.status)

    # ---- transaction events through the offline queue ---------------------------------------
    async def _transaction_event(self, evse_id: int, event_type: str, trigger: str, **fields: Any) -> None:
        offline = not self.online
        request = self.core.transaction_event(evse_id, event_type, trigger, offline=offline, **fields)
        self.queue.append({"action": "TransactionEvent", "payload": request.to_wire()})
        if not offline:
            await self._flush()

    async def _flush(self) -> None:
        """Send the queue head until empty; a lost connection leaves the rest for the next one."""
        if self._flush_lock.locked():
            return  # the running flush drains what was just appended
        async with self._flush_lock:
            while len(self.queue) and self.session is not None and self.accepted.is_set():
                session = self.session
                m = messages_of(session.version)
                head = self.queue.items[0]
                request = getattr(m, f"{head.get('action', 'TransactionEvent')}Request").from_wire(head["payload"])
                try:
                    await session.call(request)
                except OcppCallError as exc:
                    if exc.code is None:  # timeout: try again on this or the next connection
                        continue
                    log.error("OCPP station %s: CSMS refused queued %s: %s", self.identity, head.get("action"), exc)
                except ConnectionError:
                    return
                self.queue.pop_head()

    # ---- CSMS -> station: requests that start work of their own ------------------------------
    def _on_remote_start(self, r: Any) -> Any:
        m = self.m
        evse_id = r.evse_id or 1
        evse = self.evses.get(evse_id)
        if evse is None or evse.transaction_id is not None:
            return m.RequestStartTransactionResponse(status=m.RequestStartStopStatusEnumType.REJECTED)
        self._spawn(self.start_transaction(evse_id, r.id_token.id_token, trigger="RemoteStart",
                                           remote_start_id=r.remote_start_id))
        return m.RequestStartTransactionResponse(status=m.RequestStartStopStatusEnumType.ACCEPTED)

    def _on_remote_stop(self, r: Any) -> Any:
        m = self.m
        for evse in self.evses.values():
            if evse.transaction_id == r.transaction_id:
                self._spawn(self.stop_transaction(evse.evse_id, reason="Remote", trigger="RemoteStop"))
                return m.RequestStopTransactionResponse(status=m.RequestStartStopStatusEnumType.ACCEPTED)
        return m.RequestStopTransactionResponse(status=m.RequestStartStopStatusEnumType.REJECTED)

    def _on_trigger(self, r: Any) -> Any:
        m = self.m
        session = self.session
        what = str(r.requested_message)
        if session is None:
            return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.REJECTED)
        if what == "BootNotification":
            self._spawn(session.call(self.core.boot_request("Triggered")))
        elif what == "Heartbeat":
            self._spawn(session.call(self.core.heartbeat_request()))
        elif what == "StatusNotification":
            for evse_id in self.evses:
                if r.evse is None or r.evse.id == evse_id:
                    self._spawn(session.call(self.core.status_request(evse_id)))
        else:
            return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.NOT_IMPLEMENTED)
        return m.TriggerMessageResponse(status=m.TriggerMessageStatusEnumType.ACCEPTED)
