"""ISO 15118-20 (with bidirectional power transfer) between EV and charger, sans-I/O.

V2GTP framing (`v2gtp`), SECC discovery (`sdp`), SupportedAppProtocol (`sap`), and the
two state machines: `Secc` (charger; table in `secc_table.py`) and `Evcc` (vehicle). Both
take bytes and `now`, give bytes and typed events (`events`), and expose
`next_deadline()`/`handle_timeout(now)` for the standard's timers. EXI comes from
`bidicharge.protocols.exi`. Transport: `bidicharge.transports.iso15118_tcp`.

    secc, evcc = Secc(SeccConfig()), Evcc(EvState(soc=0.5, capacity_Wh=60_000))
    evcc.start(now)
    secc.receive_data(evcc.data_to_send(), now); evcc.receive_data(secc.data_to_send(), now) ...
"""

from bidicharge.architecture.registry import ProtocolSpec

from . import events, sap, sdp, v2gtp
from .errors import Iso15118Error, LocalProtocolError, RemoteProtocolError, SequenceError, UnknownSessionError
from .ev_state import EvccConfig, EvState
from .evcc import Evcc, EvccState
from .rational import from_rational, to_rational
from .secc import Secc
from .secc_config import AcEvseLimits, DcEvseLimits, SeccConfig
from .secc_table import TRANSITIONS, SeccState
from .services import (
    BptChannel,
    ControlMode,
    GeneratorMode,
    IslandingDetection,
    ParameterSet,
    ServiceId,
    ServiceOffer,
    bpt_offer,
)

PROTOCOL = ProtocolSpec(
    name="ISO 15118-20",
    package=__name__,
    interfaces=("I-01",),
    standard="ISO 15118-20:2022 (AC_BPT, DC_BPT; Scheduled and Dynamic control)",
)

__all__ = [
    "PROTOCOL",
    "TRANSITIONS",
    "AcEvseLimits",
    "BptChannel",
    "ControlMode",
    "DcEvseLimits",
    "EvState",
    "Evcc",
    "EvccConfig",
    "EvccState",
    "GeneratorMode",
    "IslandingDetection",
    "Iso15118Error",
    "LocalProtocolError",
    "ParameterSet",
    "RemoteProtocolError",
    "Secc",
    "SeccConfig",
    "SeccState",
    "SequenceError",
    "ServiceId",
    "ServiceOffer",
    "UnknownSessionError",
    "bpt_offer",
    "events",
    "from_rational",
    "sap",
    "sdp",
    "to_rational",
    "v2gtp",
]
