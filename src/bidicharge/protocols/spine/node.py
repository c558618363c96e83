"""A SPINE node: our device talking to its peers (SPINE 1.3.0 Protocol Specification §5–§7).

Sans-I/O: :meth:`SpineNode.receive` takes a peer id (the SHIP connection, usually the
peer's SKI) and one plain-JSON datagram; answers and requests leave through
:meth:`SpineNode.datagrams_to_send`, results through :meth:`SpineNode.events` and
registered listeners. Time is given with every call.

Rules applied to incoming commands (the spine-go ``ProcessCmd`` checks, SPINE §5.3):

* ``read`` -> ``reply`` with ``msgCounterReference``; unknown feature: error 4
  (destinationUnknown); unsupported function: error 6 (commandNotSupported).
* ``write`` needs the function announced writable (6), ``partial`` announced when used (8),
  a binding from the writing client to our server feature (9), a peer that has read our
  discovery and whose client feature we know (1), and the application's approval (7).
  Accepted writes are stored (full = replace; partial = merge by keys; delete = remove),
  notified to subscribers, then acknowledged with ``result`` 0.
* ``call`` serves NodeManagement subscription/binding requests and deletes.
* ``notify``/``reply`` update our copy of the peer's data; ``result`` closes a request.
* A command that needs an answer is answered with ``resultData{errorNumber}`` on failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine import merge
from bidicharge.protocols.spine.device import (
    Feature,
    FeatureRole,
    LocalDevice,
    RemoteDevice,
    RemoteFeature,
    WriteRequest,
)
from bidicharge.protocols.spine.errors import ErrorNumber, LocalProtocolError, RemoteProtocolError
from bidicharge.protocols.spine.events import (
    BindingChanged,
    CommandRefused,
    EntitiesChanged,
    Listener,
    LocalDataWritten,
    PeerDiscovered,
    PeerLost,
    RemoteDataUpdated,
    RequestTimedOut,
    ResultReceived,
    SpineEvent,
    SubscriptionChanged,
    UseCasesReceived,
)
from bidicharge.protocols.spine.model import (
    Address,
    Cmd,
    CmdClassifier,
    Datagram,
    Header,
    decode_datagram,
    decode_header,
)
from bidicharge.protocols.spine.usecase_info import UseCaseSupport, parse_use_case_data, use_case_data_json

NODE_MANAGEMENT: Final = Address(entity=(0,), feature=0)
DISCOVERY: Final = "nodeManagementDetailedDiscoveryData"
USE_CASES: Final = "nodeManagementUseCaseData"
REQUEST_TIMEOUT_S: Final = 10.0
WRITE_APPROVAL_TIMEOUT_S: Final = 10.0  # a write held for the application's approval is refused after this
# NodeManagement wire names per link kind: (request call, request element, delete call, delete element,
# data function, entry element, id element) — SPINE 1.3.0 NodeManagement resource
LINK_WIRE_NAMES: Final = {
    "subscription": ("nodeManagementSubscriptionRequestCall", "subscriptionRequest",
                     "nodeManagementSubscriptionDeleteCall", "subscriptionDelete",
                     "nodeManagementSubscriptionData", "subscriptionEntry", "subscriptionId"),
    "binding": ("nodeManagementBindingRequestCall", "bindingRequest",
                "nodeManagementBindingDeleteCall", "bindingDelete",
                "nodeManagementBindingData", "bindingEntry", "bindingId"),
}




@dataclass(slots=True, kw_only=True)
class _Pending:
    peer: str
    classifier: CmdClassifier
    function: str
    source: Address
    destination: Address
    deadline: float
    link: tuple[str, Address, Address] | None = None  # ("subscription"|"binding", client, server)


@dataclass(slots=True, kw_only=True)
class _PendingWrite:
    header: Header
    feature: Feature
    cmd: Cmd
    origin: Address
    deadline: float


@dataclass(slots=True, kw_only=True)
class _Peer:
    remote: RemoteDevice = field(default_factory=RemoteDevice)
    read_our_discovery: bool = False


class SpineNode:
    """Our SPINE device and its conversations with every connected peer."""

    def __init__(self, device: LocalDevice, *, subscribe_node_management: bool = True) -> None:
        self.device = device
        self.use_cases: list[UseCaseSupport] = []
        self.subscribe_node_management = subscribe_node_management
        self._peers: dict[str, _Peer] = {}
        self.now = 0.0  # the time of the latest input; actors use it for requests made in callbacks
        self._msg_counter = 0
        self._pending: dict[int, _Pending] = {}
        self._pending_writes: dict[tuple[str, int], _PendingWrite] = {}
        self._out: list[tuple[str, JsonObject]] = []
        self._events: list[SpineEvent] = []
        self._listeners: list[Listener] = []
        # (peer, client address, server address) with addresses normalised to carry devices
        self.subscriptions: set[tuple[str, Address, Address]] = set()  # peers subscribed at us
        self.bindings: set[tuple[str, Address, Address]] = set()  # peers bound to us
        self.remote_subscriptions: set[tuple[str, Address, Address]] = set()  # ours at peers
        self.remote_bindings: set[tuple[str, Address, Address]] = set()
        self._subscribers_order: tuple[frozenset[tuple[str, Address, Address]],
                                       list[tuple[str, Address, Address]]] = (frozenset(), [])

    # --- peers -----------------------------------------------------------------------

    def connect(self, peer: str, now: float) -> None:
        """A SHIP connection reached the data phase: start detailed discovery."""
        self.now = now
        self._peers[peer] = _Peer()
        self._send_request(peer, self.device.node_management.address, NODE_MANAGEMENT, CmdClassifier.READ,
                           Cmd(function=DISCOVERY), now)

    def disconnect(self, peer: str) -> None:
        if self._peers.pop(peer, None) is not None:
            self._emit(PeerLost(peer=peer))
        for table in (self.subscriptions, self.bindings, self.remote_subscriptions, self.remote_bindings):
            for entry in [e for e in table if e[0] == peer]:
                table.discard(entry)
        for counter in [c for c, p in self._pending.items() if p.peer == peer]:
            del self._pending[counter]
        for key in [k for k in self._pending_writes if k[0] == peer]:
            del self._pending_writes[key]

    def peers(self) -> list[str]:
        return list(self._peers)

    def remote(self, peer: str) -> RemoteDevice:
        try:
            return self._peers[peer].remote
        except KeyError:
            raise LocalProtocolError(f"no SPINE peer {peer!r}") from None

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def add_use_case(self, support: UseCaseSupport) -> None:
        self.use_cases.append(support)

    # --- outputs ---------------------------------------------------------------------

    def datagrams_to_send(self) -> list[tuple[str, JsonObject]]:
        out, self._out = self._out, []
        return out

    def events(self) -> Iterator[SpineEvent]:
        while self._events:
            yield self._events.pop(0)

    def next_deadline(self) -> float | None:
        deadlines = [p.deadline for p in self._pending.values()] + [w.deadline for w in self._pending_writes.values()]
        return min(deadlines, default=None)

    def handle_timeout(self, now: float) -> None:
        self.now = now
        for (peer, counter), write in sorted(self._pending_writes.items()):
            if write.deadline <= now:
                self.complete_write(peer, counter, ErrorNumber.TIMEOUT, now)
        for counter, pending in sorted(self._pending.items()):
            if pending.deadline <= now:
                del self._pending[counter]
                self._emit(RequestTimedOut(peer=pending.peer, msg_counter=counter, function=pending.function))

    # --- requests we make ------------------------------------------------------------

    def read(self, peer: str, source: Feature, destination: Address, function: str, now: float) -> int:
        return self._send_request(peer, source.address, destination, CmdClassifier.READ,
                                  Cmd(function=function), now)

    def write(self, peer: str, source: Feature, destination: Address, function: str, data: JsonObject,
              now: float, *, partial: bool = True) -> int:
        """Write a peer's server function; partial (the safe default) merges by item keys."""
        return self._send_request(peer, source.address, destination, CmdClassifier.WRITE,
                                  Cmd(function=function, data=data, partial=partial, explicit_function=partial),
                                  now, ack=True)

    def subscribe(self, peer: str, client: Feature, server: RemoteFeature, now: float) -> int:
        return self._link_call(peer, "subscription", client, server, now)

    def bind(self, peer: str, client: Feature, server: RemoteFeature, now: float) -> int:
        return self._link_call(peer, "binding", client, server, now)

    def unsubscribe(self, peer: str, client: Feature, server: RemoteFeature, now: float) -> int:
        return self._unlink_call(peer, "subscription", client, server, now)

    def unbind(self, peer: str, client: Feature, server: RemoteFeature, now: float) -> int:
        return self._unlink_call(peer, "binding", client, server, now)

    def _unlink_call(self, peer: str, kind: str, client: Feature, server: RemoteFeature, now: float) -> int:
        remote = self.remote(peer)
        server_address = server.address.with_device(remote.address) if remote.address else server.address
        _, _, call, element, *_ = LINK_WIRE_NAMES[kind]
        body = {element: {"clientAddress": client.address.to_json(), "serverAddress": server_address.to_json()}}
        table = self.remote_subscriptions if kind == "subscription" else self.remote_bindings
        for entry in [e for e in table if e[0] == peer and e[1] == client.address
                      and e[2].entity == server.address.entity and e[2].feature == server.address.feature]:
            table.discard(entry)
        return self._send_request(peer, self.device.node_management.address, NODE_MANAGEMENT, CmdClassifier.CALL,
                                  Cmd(function=call, data=body), now, ack=True)

    def _link_call(self, peer: str, kind: str, client: Feature, server: RemoteFeature, now: float) -> int:
        remote = self.remote(peer)
        server_address = server.address.with_device(remote.address) if remote.address else server.address
        call, element, *_ = LINK_WIRE_NAMES[kind]
        body = {element: {"clientAddress": client.address.to_json(),
                                   "serverAddress": server_address.to_json(),
                                   "serverFeatureType": server.feature_type}}
        function = call
        counter = self._send_request(peer, self.device.node_management.address, NODE_MANAGEMENT,
                                     CmdClassifier.CALL, Cmd(function=function, data=body), now, ack=True)
        self._pending[counter].link = (kind, client.address, server_address)
        return counter

    # --- our data --------------------------------------------------------------------

    def set_data(self, feature: Feature, function: str, data: JsonObject, now: float) -> None:
        """Replace our server feature's data and notify every subscriber (full notify)."""
        feature.data[function] = data
        self._notify_subscribers(feature, function, now)

    def update_data(self, feature: Feature, function: str, update: JsonObject, now: float) -> None:
        feature.data[function] = merge.merge_partial(function, feature.data.get(function), update)
        self._notify_subscribers(feature, function, now)

    def entity_changed(self, entity_json: JsonObject, now: float) -> None:
        """Tell peers subscribed to our NodeManagement about an added/removed entity."""
        nm = self.device.node_management
        for peer, client, server in self._subscribers():
            if server.entity == nm.address.entity and server.feature == nm.address.feature:
                self._send(peer, nm.address, client, CmdClassifier.NOTIFY,
                           Cmd(function=DISCOVERY, data=entity_json, partial=True))

    def use_cases_changed(self, now: float) -> None:
        """Notify NodeManagement subscribers of the new use-case data (e.g. EV plugged in)."""
        self._notify_subscribers_with(self.device.node_management, USE_CASES, use_case_data_json(self.use_cases))

    def _subscribers(self) -> list[tuple[str, Address, Address]]:
        """`subscriptions` in a fixed order (by repr, so every run notifies alike); the sort is
        redone only when the set changed — a node notifies every step, subscribers rarely change."""
        current = frozenset(self.subscriptions)
        if current != self._subscribers_order[0]:
            self._subscribers_order = (current, sorted(current, key=repr))
        return self._subscribers_order[1]

    def _notify_subscribers_with(self, feature: Feature, function: str, data: JsonObject) -> None:
        for peer, client, server in self._subscribers():
            if server.entity == feature.address.entity and server.feature == feature.address.feature:
                self._send(peer, feature.address, client, CmdClassifier.NOTIFY, Cmd(function=function, data=data))

    def _notify_subscribers(self, feature: Feature, function: str, now: float) -> None:
        for peer, client, server in self._subscribers():
            if server.entity == feature.address.entity and server.feature == feature.address.feature:
                self._send(peer, feature.address, client, CmdClassifier.NOTIFY,
                           Cmd(function=function, data=feature.data.get(function, {})))

    def is_bound(self, peer: str, client: Address, server: Address) -> bool:
        return any(p == peer and c.entity == client.entity and c.feature == client.feature
                   and s.entity == server.entity and s.feature == server.feature
                   for p, c, s in self.bindings)

    # --- input -----------------------------------------------------------------------

    def receive(self, peer: str, document: JsonObject, now: float) -> None:
        """One datagram from ``peer``; never raises for the peer's mistakes."""
        self.now = now
        if peer not in self._peers:
            self._peers[peer] = _Peer()
        try:
            datagram = decode_datagram(document)
        except RemoteProtocolError as exc:
            self._refuse_undecodable(peer, document, exc)
            return
        header = datagram.header
        try:
            if header.address_destination.device not in (None, self.device.address):
                raise RemoteProtocolError(f"not our device: {header.address_destination.device}",
                                          error_number=ErrorNumber.DESTINATION_UNKNOWN)
            for cmd in datagram.cmds:
                self._dispatch(peer, header, cmd, now)
        except RemoteProtocolError as exc:
            self._refuse(peer, header, exc)

    def _dispatch(self, peer: str, header: Header, cmd: Cmd, now: float) -> None:
        classifier = header.cmd_classifier
        if classifier is CmdClassifier.READ:
            self._on_read(peer, header, cmd)
        elif classifier is CmdClassifier.WRITE:
            self._on_write(peer, header, cmd, now)
        elif classifier is CmdClassifier.CALL:
            self._on_call(peer, header, cmd)
        elif classifier in (CmdClassifier.REPLY, CmdClassifier.NOTIFY):
            self._on_data(peer, header, cmd, now)
        else:
            self._on_result(peer, header, cmd)

    def _local_feature(self, address: Address) -> Feature:
        feature = self.device.feature_at(address)
        if feature is None:
            raise RemoteProtocolError(f"no feature at {address.entity}/{address.feature}",
                                      error_number=ErrorNumber.DESTINATION_UNKNOWN)
        return feature

    def _on_read(self, peer: str, header: Header, cmd: Cmd) -> None:
        feature = self._local_feature(header.address_destination)
        spec = feature.functions.get(cmd.function)
        if spec is None or not spec.read:
            raise RemoteProtocolError(f"{cmd.function} cannot be read here",
                                      error_number=ErrorNumber.COMMAND_NOT_SUPPORTED)
        if feature is self.device.node_management:
            data = self._node_management_data(peer, cmd.function)
        else:
            self._require_known_source(peer, header.address_source)
            data = feature.data.get(cmd.function, {})
        self._send(peer, feature.address, header.address_source, CmdClassifier.REPLY,
                   Cmd(function=cmd.function, data=data), reference=header.msg_counter)

    def _node_management_data(self, peer: str, function: str) -> JsonObject:
        if function == DISCOVERY:
            self._peers[peer].read_our_discovery = True
            return self.device.detailed_discovery_json()
        if function == USE_CASES:
            return use_case_data_json(self.use_cases)
        if function in ("nodeManagementSubscriptionData", "nodeManagementBindingData"):
            kind = "subscription" if "Subscription" in function else "binding"
            table = self.subscriptions if kind == "subscription" else self.bindings
            *_, entry, entry_id = LINK_WIRE_NAMES[kind]
            return {entry: [{entry_id: i, "clientAddress": c.to_json(), "serverAddress": s.to_json()}
                                     for i, (_, c, s) in enumerate(sorted(table, key=repr))]}
        return {"nodeManagementDestinationData": [{"deviceDescription": {
            "deviceAddress": {"device": self.device.address}, "deviceType": self.device.device_type,
            "networkFeatureSet": "smart"}}]}

    def _require_known_source(self, peer: str, source: Address) -> None:
        state = self._peers[peer]
        if not state.remote.discovered or state.remote.feature_at(source) is None:
            raise RemoteProtocolError("invalid remote feature address (discovery not complete)",
                                      error_number=ErrorNumber.GENERAL_ERROR)

    def _on_write(self, peer: str, header: Header, cmd: Cmd, now: float) -> None:
        feature = self._local_feature(header.address_destination)
        spec = feature.functions.get(cmd.function)
        if spec is None or not spec.write:
            raise RemoteProtocolError(f"{cmd.function} is not writable",
                                      error_number=ErrorNumber.COMMAND_NOT_SUPPORTED)
        if cmd.partial and not spec.partial_write:
            raise RemoteProtocolError("partial write not supported for " + cmd.function,
                                      error_number=ErrorNumber.RESTRICTED_FUNCTION_EXCHANGE_COMBINATION_NOT_SUPPORTED)
        self._require_known_source(peer, header.address_source)
        if not self.is_bound(peer, header.address_source, feature.address):
            raise RemoteProtocolError("write denied due to missing binding",
                                      error_number=ErrorNumber.BINDING_IS_NECESSARY_FOR_THIS_COMMAND)
        new = _written(feature.data.get(cmd.function), cmd)
        guard = feature.write_guards.get(cmd.function)
        origin = _with_device(header.address_source, self._peers[peer].remote.address)
        if guard is not None:
            verdict = guard(WriteRequest(peer=peer, msg_counter=header.msg_counter, origin=origin,
                                         feature=feature.address, function=cmd.function, new_data=new,
                                         incoming=cmd.data, partial=cmd.partial, now=now))
            if verdict is None:  # the application decides later (complete_write)
                self._pending_writes[(peer, header.msg_counter)] = _PendingWrite(
                    header=header, feature=feature, cmd=cmd, origin=origin, deadline=now + WRITE_APPROVAL_TIMEOUT_S)
                return
            if verdict is not ErrorNumber.NO_ERROR:
                raise RemoteProtocolError(f"write of {cmd.function} denied by application", error_number=verdict)
        self._apply_write(peer, header, feature, cmd.function, new, origin, now, written=cmd.data)

    def _apply_write(self, peer: str, header: Header, feature: Feature, function: str, new: JsonObject,
                     origin: Address, now: float, *, written: JsonObject) -> None:
        feature.data[function] = new
        self._emit(LocalDataWritten(peer=peer, origin=origin, feature=feature.address, function=function,
                                    data=new, now=now, written=written))
        self._notify_subscribers(feature, function, now)
        if header.ack_request:
            self._result(peer, header, ErrorNumber.NO_ERROR)

    def complete_write(self, peer: str, msg_counter: int, verdict: ErrorNumber, now: float) -> bool:
        """Decide a write held pending by a guard; False if it is unknown or already expired."""
        pending = self._pending_writes.pop((peer, msg_counter), None)
        if pending is None or peer not in self._peers:
            return False
        self.now = now
        if verdict is ErrorNumber.NO_ERROR:
            new = _written(pending.feature.data.get(pending.cmd.function), pending.cmd)  # on today's data
            self._apply_write(peer, pending.header, pending.feature, pending.cmd.function, new, pending.origin, now,
                              written=pending.cmd.data)
        else:
            self._refuse(peer, pending.header, RemoteProtocolError(
                f"write of {pending.cmd.function} denied by application", error_number=verdict))
        return True

    def _on_call(self, peer: str, header: Header, cmd: Cmd) -> None:
        kinds = {"nodeManagementSubscriptionRequestCall": ("subscription", True),
                 "nodeManagementSubscriptionDeleteCall": ("subscription", False),
                 "nodeManagementBindingRequestCall": ("binding", True),
                 "nodeManagementBindingDeleteCall": ("binding", False)}
        if cmd.function not in kinds:
            raise RemoteProtocolError(f"call {cmd.function} not supported",
                                      error_number=ErrorNumber.COMMAND_NOT_SUPPORTED)
        kind, add = kinds[cmd.function]
        _, request_element, _, delete_element, *_ = LINK_WIRE_NAMES[kind]
        body = cmd.data.get(request_element if add else delete_element)
        if not isinstance(body, dict):
            raise RemoteProtocolError(f"{cmd.function} without {kind} request")
        client = _with_device(Address.from_json(body.get("clientAddress", {})), self._peers[peer].remote.address)
        server = Address.from_json(body.get("serverAddress", {}))
        table = self.subscriptions if kind == "subscription" else self.bindings
        if add:
            feature = self._local_feature(server)
            wanted = body.get("serverFeatureType")
            if feature.role is FeatureRole.CLIENT or (wanted is not None and wanted != feature.feature_type):
                raise RemoteProtocolError(f"{kind} to a feature of another type",
                                          error_number=ErrorNumber.COMMAND_REJECTED)
            entry = (peer, client, feature.address)
            if entry not in table:
                table.add(entry)
                event_cls = SubscriptionChanged if kind == "subscription" else BindingChanged
                self._emit(event_cls(peer=peer, client=client, server=feature.address, added=True, ours=False))
        else:
            for entry in [e for e in table if e[0] == peer and e[1].entity == client.entity
                          and e[1].feature == client.feature and e[2].entity == server.entity
                          and (server.feature is None or e[2].feature == server.feature)]:
                table.discard(entry)
                event_cls = SubscriptionChanged if kind == "subscription" else BindingChanged
                self._emit(event_cls(peer=peer, client=entry[1], server=entry[2], added=False, ours=False))
        self._result(peer, header, ErrorNumber.NO_ERROR)

    def _on_data(self, peer: str, header: Header, cmd: Cmd, now: float) -> None:
        state = self._peers[peer]
        remote = state.remote
        source = header.address_source
        if header.cmd_classifier is CmdClassifier.REPLY and header.msg_counter_reference is not None:
            self._pending.pop(header.msg_counter_reference, None)
        if cmd.function == DISCOVERY:
            was_discovered = remote.discovered
            changes = remote.apply_discovery(cmd.data, partial=cmd.partial)
            if not was_discovered:
                self._emit(PeerDiscovered(peer=peer, device=remote.address))
                self._after_discovery(peer, now)
            elif changes:
                self._emit(EntitiesChanged(peer=peer, changes=tuple(changes)))
        elif cmd.function == USE_CASES:
            remote.use_cases = [cmd.data]
            self._emit(UseCasesReceived(peer=peer, use_cases=tuple(parse_use_case_data(cmd.data))))
        else:
            if remote.feature_at(source) is None:
                raise RemoteProtocolError("data from an unknown remote feature")
            key = (source.entity, source.feature or 0, cmd.function)
            new = _written(remote.data.get(key), cmd)
            remote.data[key] = new
            self._emit(RemoteDataUpdated(peer=peer, source=source, function=cmd.function, data=new,
                                         classifier=header.cmd_classifier, now=now))
        if header.cmd_classifier is CmdClassifier.NOTIFY and header.ack_request:
            self._result(peer, header, ErrorNumber.NO_ERROR)

    def _after_discovery(self, peer: str, now: float) -> None:
        nm = self.device.node_management
        self._send_request(peer, nm.address, NODE_MANAGEMENT, CmdClassifier.READ, Cmd(function=USE_CASES), now)
        remote_nm = self._peers[peer].remote.feature_at(NODE_MANAGEMENT)
        if self.subscribe_node_management and remote_nm is not None:
            self._link_call(peer, "subscription", nm, remote_nm, now)

    def _on_result(self, peer: str, header: Header, cmd: Cmd) -> None:
        if cmd.function != "resultData":
            raise RemoteProtocolError("result without resultData")
        reference = header.msg_counter_reference
        if reference is None:
            return
        number = cmd.data.get("errorNumber", 0)
        pending = self._pending.pop(reference, None)
        if pending is not None and pending.link is not None and number == 0:
            kind, client, server = pending.link
            if kind == "subscription":
                self.remote_subscriptions.add((peer, client, server))
                self._emit(SubscriptionChanged(peer=peer, client=client, server=server, added=True, ours=True))
                if server.entity == NODE_MANAGEMENT.entity and server.feature == NODE_MANAGEMENT.feature:
                    # entities added between its discovery reply and our subscription would be missed
                    self._send_request(peer, self.device.node_management.address, NODE_MANAGEMENT,
                                       CmdClassifier.READ, Cmd(function=DISCOVERY), self.now)
            else:
                self.remote_bindings.add((peer, client, server))
                self._emit(BindingChanged(peer=peer, client=client, server=server, added=True, ours=True))
        try:
            error: ErrorNumber | int = ErrorNumber(number)
        except ValueError:
            error = int(number) if isinstance(number, int) else ErrorNumber.GENERAL_ERROR
        description = cmd.data.get("description")
        self._emit(ResultReceived(peer=peer, msg_counter_reference=reference,
                                  function=pending.function if pending else None, error_number=error,
                                  description=description if isinstance(description, str) else None))

    # --- sending ---------------------------------------------------------------------

    def _next_counter(self) -> int:
        self._msg_counter += 1
        return self._msg_counter

    def _send(self, peer: str, source: Address, destination: Address, classifier: CmdClassifier, cmd: Cmd,
              *, reference: int | None = None, ack: bool | None = None) -> int:
        counter = self._next_counter()
        remote = self._peers.get(peer)
        device = remote.remote.address if remote else None
        header = Header(address_source=source.with_device(self.device.address),
                        address_destination=_with_device(destination, device),
                        msg_counter=counter, msg_counter_reference=reference, cmd_classifier=classifier,
                        ack_request=ack)
        self._out.append((peer, Datagram(header=header, cmds=(cmd,)).to_json()))
        return counter

    def _send_request(self, peer: str, source: Address, destination: Address, classifier: CmdClassifier,
                      cmd: Cmd, now: float, *, ack: bool | None = None) -> int:
        if peer not in self._peers:
            raise LocalProtocolError(f"no SPINE peer {peer!r}")
        counter = self._send(peer, source, destination, classifier, cmd, ack=ack)
        self._pending[counter] = _Pending(peer=peer, classifier=classifier, function=cmd.function,
                                          source=source, destination=destination,
                                          deadline=now + REQUEST_TIMEOUT_S)
        return counter

    def _result(self, peer: str, header: Header, error: ErrorNumber, description: str | None = None) -> None:
        data: JsonObject = {"errorNumber": int(error)}
        if description is not None:
            data["description"] = description
        self._send(peer, header.address_destination, header.address_source, CmdClassifier.RESULT,
                   Cmd(function="resultData", data=data), reference=header.msg_counter)

    def _refuse(self, peer: str, header: Header, exc: RemoteProtocolError) -> None:
        self._emit(CommandRefused(peer=peer, error_number=exc.error_number, description=exc.description))
        if header.cmd_classifier in (CmdClassifier.READ, CmdClassifier.WRITE, CmdClassifier.CALL) \
                or header.ack_request:
            self._result(peer, header, exc.error_number, exc.description)

    def _refuse_undecodable(self, peer: str, document: Any, exc: RemoteProtocolError) -> None:
        self._emit(CommandRefused(peer=peer, error_number=exc.error_number, description=exc.description))
        try:  # answer if the header at least is readable (SPINE: a result needs a reference)
            header = document["datagram"]["header"]
            decoded = decode_header(header)
        except Exception:  # noqa: BLE001 - nothing we can answer to
            return
        if decoded.cmd_classifier not in (CmdClassifier.RESULT, CmdClassifier.REPLY):
            self._result(peer, decoded, exc.error_number, exc.description)

    def _emit(self, event: SpineEvent) -> None:
        self._events.append(event)
        for listener in self._listeners:
            listener(event)


def _written(current: JsonObject | None, cmd: Cmd) -> JsonObject:
    """The function's data after ``cmd`` (full replace, partial merge, delete) — SPINE §5.3.4."""
    if cmd.delete_selectors is not None or cmd.delete_elements is not None:
        new = merge.apply_delete(cmd.function, current, cmd.delete_selectors, cmd.delete_elements)
        return merge.merge_partial(cmd.function, new, cmd.data) if cmd.partial else new
    if cmd.partial:
        return merge.merge_partial(cmd.function, current, cmd.data)
    return cmd.data


def _with_device(address: Address, device: str | None) -> Address:
    if address.device is not None or device is None:
        return address
    return address.with_device(device)


__all__ = [  # events are re-exported for the actors that listen to a node
    "BindingChanged", "CommandRefused", "EntitiesChanged", "Listener", "LocalDataWritten", "PeerDiscovered",
    "PeerLost", "RemoteDataUpdated", "RequestTimedOut", "ResultReceived", "SpineEvent", "SpineNode",
    "SubscriptionChanged", "UseCasesReceived",
]
