"""SPINE datagrams: header, addresses and commands (SPINE 1.3.0 Protocol Specification §5).

A datagram is ``{"datagram": {"header": …, "payload": {"cmd": [ … ]}}}`` (plain JSON here;
EEBUS-JSON on the wire, see :mod:`bidicharge.protocols.ship.eebus_json`). The header carries
the source/destination feature addresses, ``msgCounter``, ``msgCounterReference`` (for
``reply`` and ``result``), the ``cmdClassifier`` and ``ackRequest``. A command holds one
function's data element; Restricted Function Exchange (§5.3.4) adds ``function`` and a
``filter`` with ``cmdControl.partial`` or ``cmdControl.delete`` plus selectors.

Function data stays plain JSON in schema order: SPINE has hundreds of types and the use-case
layer (:mod:`bidicharge.protocols.spine.usecases`) turns the ones it needs into typed values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from bidicharge.protocols.ship.eebus_json import JsonObject
from bidicharge.protocols.spine.errors import RemoteProtocolError
from bidicharge.protocols.spine.functions import LIST_FUNCTIONS

SPECIFICATION_VERSION: Final = "1.3.0"
_CMD_META_KEYS: Final = frozenset({"function", "filter", "manufacturerSpecificExtension", "lastUpdateAt"})


class CmdClassifier(Enum):
    READ = "read"
    REPLY = "reply"
    NOTIFY = "notify"
    WRITE = "write"
    CALL = "call"
    RESULT = "result"


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """FeatureAddressType (``entity``/``feature`` optional for device/entity addresses)."""

    device: str | None = None
    entity: tuple[int, ...] = ()
    feature: int | None = None

    def to_json(self) -> JsonObject:
        out: JsonObject = {}
        if self.device is not None:
            out["device"] = self.device
        out["entity"] = list(self.entity)
        if self.feature is not None:
            out["feature"] = self.feature
        return out

    def entity_json(self) -> JsonObject:
        out: JsonObject = {} if self.device is None else {"device": self.device}
        out["entity"] = list(self.entity)
        return out

    @classmethod
    def from_json(cls, raw: Any) -> Address:
        if not isinstance(raw, dict):
            raise RemoteProtocolError(f"address must be an object: {raw!r}")
        device = raw.get("device")
        entity = raw.get("entity", [])
        feature = raw.get("feature")
        if isinstance(entity, int) and not isinstance(entity, bool):
            entity = [entity]
        if (device is not None and not isinstance(device, str)) or not isinstance(entity, list) \
                or not all(isinstance(e, int) and not isinstance(e, bool) for e in entity) \
                or (feature is not None and (not isinstance(feature, int) or isinstance(feature, bool))):
            raise RemoteProtocolError(f"malformed address: {raw!r}")
        return cls(device=device, entity=tuple(entity), feature=feature)

    def with_device(self, device: str) -> Address:
        return Address(device=device, entity=self.entity, feature=self.feature)

    def entity_address(self) -> Address:
        return Address(device=self.device, entity=self.entity)


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    address_source: Address
    address_destination: Address
    msg_counter: int
    cmd_classifier: CmdClassifier
    specification_version: str = SPECIFICATION_VERSION
    address_originator: Address | None = None
    msg_counter_reference: int | None = None
    ack_request: bool | None = None
    timestamp: str | None = None

    def to_json(self) -> JsonObject:
        out: JsonObject = {"specificationVersion": self.specification_version,
                           "addressSource": self.address_source.to_json(),
                           "addressDestination": self.address_destination.to_json()}
        if self.address_originator is not None:
            out["addressOriginator"] = self.address_originator.to_json()
        out["msgCounter"] = self.msg_counter
        if self.msg_counter_reference is not None:
            out["msgCounterReference"] = self.msg_counter_reference
        out["cmdClassifier"] = self.cmd_classifier.value
        if self.ack_request is not None:
            out["ackRequest"] = self.ack_request
        if self.timestamp is not None:
            out["timestamp"] = self.timestamp
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Cmd:
    """One SPINE command: the data element ``function`` with its ``data`` and filters."""

    function: str
    data: JsonObject = field(default_factory=dict, hash=False)
    partial: bool = False
    delete_selectors: JsonObject | None = field(default=None, hash=False)
    delete_elements: JsonObject | None = field(default=None, hash=False)
    explicit_function: bool = False  # write "function" on the wire (required with filters)

    def to_json(self) -> JsonObject:
        out: JsonObject = {}
        filters: list[JsonObject] = []
        if self.delete_selectors is not None or self.delete_elements is not None:
            flt: JsonObject = {"cmdControl": {"delete": {}}}
            if self.delete_selectors is not None:
                flt[selectors_name(self.function)] = self.delete_selectors
            if self.delete_elements is not None:
                flt[elements_name(self.function)] = self.delete_elements
            filters.append(flt)
        if self.partial:
            filters.append({"cmdControl": {"partial": {}}})
        if self.explicit_function or filters:
            out["function"] = self.function
        if filters:
            out["filter"] = filters
        out[self.function] = self.data
        return out

    @classmethod
    def from_json(cls, raw: Any) -> Cmd:
        if not isinstance(raw, dict):
            raise RemoteProtocolError("cmd must be an object")
        elements = [key for key in raw if key not in _CMD_META_KEYS]
        if len(elements) != 1:
            raise RemoteProtocolError(f"cmd must carry exactly one data element, got {elements}")
        function = elements[0]
        declared = raw.get("function")
        if declared is not None and declared != function:
            raise RemoteProtocolError(f"cmd function {declared!r} differs from its data {function!r}")
        data = raw[function]
        if not isinstance(data, dict):
            raise RemoteProtocolError(f"data of {function} must be an object")
        partial = False
        selectors: JsonObject | None = None
        elements_sel: JsonObject | None = None
        raw_filters = raw.get("filter", [])
        if isinstance(raw_filters, dict):
            raw_filters = [raw_filters]
        if not isinstance(raw_filters, list):
            raise RemoteProtocolError("cmd filter must be a list")
        for flt in raw_filters:
            if not isinstance(flt, dict) or not isinstance(flt.get("cmdControl"), dict):
                raise RemoteProtocolError("filter without cmdControl")
            control = flt["cmdControl"]
            if "partial" in control:
                partial = True
            elif "delete" in control:
                selectors = _first_with_suffix(flt, "Selectors") or {}
                elements_sel = _first_with_suffix(flt, "Elements")
            else:
                raise RemoteProtocolError(f"unknown cmdControl {control!r}")
        return cls(function=function, data=data, partial=partial, delete_selectors=selectors,
                   delete_elements=elements_sel, explicit_function=declared is not None)


def selectors_name(function: str) -> str:
    """``loadControlLimitListData`` -> ``loadControlLimitListDataSelectors`` (FilterType)."""
    return f"{function}Selectors"


def elements_name(function: str) -> str:
    """``loadControlLimitListData`` -> ``loadControlLimitDataElements`` (FilterType)."""
    item = LIST_FUNCTIONS.get(function)
    return f"{item[0] if item else function}Elements"


def _first_with_suffix(flt: JsonObject, suffix: str) -> JsonObject | None:
    for key, value in flt.items():
        if key.endswith(suffix) and isinstance(value, dict):
            return value
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Datagram:
    header: Header
    cmds: tuple[Cmd, ...]

    def to_json(self) -> JsonObject:
        return {"datagram": {"header": self.header.to_json(),
                             "payload": {"cmd": [cmd.to_json() for cmd in self.cmds]}}}

    @property
    def cmd(self) -> Cmd:
        return self.cmds[0]


def _int(raw: JsonObject, key: str, *, required: bool) -> int | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise RemoteProtocolError(f"header.{key} missing")
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RemoteProtocolError(f"header.{key} must be a non-negative integer")
    return value


def decode_header(raw: Any) -> Header:
    if not isinstance(raw, dict):
        raise RemoteProtocolError("datagram header must be an object")
    try:
        classifier = CmdClassifier(raw.get("cmdClassifier"))
    except ValueError:
        raise RemoteProtocolError(f"unknown cmdClassifier {raw.get('cmdClassifier')!r}") from None
    ack = raw.get("ackRequest")
    version = raw.get("specificationVersion", SPECIFICATION_VERSION)
    originator = raw.get("addressOriginator")
    msg_counter = _int(raw, "msgCounter", required=True)
    assert msg_counter is not None
    return Header(
        specification_version=str(version),
        address_source=Address.from_json(raw.get("addressSource")),
        address_destination=Address.from_json(raw.get("addressDestination", {})),
        address_originator=None if originator is None else Address.from_json(originator),
        msg_counter=msg_counter,
        msg_counter_reference=_int(raw, "msgCounterReference", required=False),
        cmd_classifier=classifier,
        ack_request=ack if isinstance(ack, bool) else None,
        timestamp=raw.get("timestamp") if isinstance(raw.get("timestamp"), str) else None,
    )


def decode_datagram(document: Any) -> Datagram:
    """Plain JSON ``{"datagram": …}`` -> :class:`Datagram`; raises RemoteProtocolError."""
    if not isinstance(document, dict) or not isinstance(document.get("datagram"), dict):
        raise RemoteProtocolError("not a SPINE datagram")
    body = document["datagram"]
    header = decode_header(body.get("header"))
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise RemoteProtocolError("datagram payload must be an object")
    cmds = payload.get("cmd", [])
    if isinstance(cmds, dict):
        cmds = [cmds]
    if not isinstance(cmds, list) or not cmds:
        raise RemoteProtocolError("datagram payload without cmd")
    return Datagram(header=header, cmds=tuple(Cmd.from_json(cmd) for cmd in cmds))
