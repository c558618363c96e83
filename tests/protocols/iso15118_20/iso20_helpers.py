"""Shared helpers of the ISO 15118-20 tests: drive a SECC by hand, pair SECC and EVCC."""

from __future__ import annotations

from typing import Any

from bidicharge.protocols.exi.messages import common_messages as cm
from bidicharge.protocols.exi.messages import common_types as ct
from bidicharge.protocols.iso15118_20 import Evcc, EvccConfig, EvState, Secc, SeccConfig, sap
from bidicharge.protocols.iso15118_20.sim import SimpleEv, SimpleEvse, run_in_memory
from bidicharge.protocols.iso15118_20.v2gtp import FrameReader
from bidicharge.protocols.iso15118_20.wire import decode_message, encode_message

T0 = 1_750_000_000.0


def answers(data: bytes) -> list[Any]:
    reader = FrameReader()
    reader.feed(data)
    return [decode_message(f) for f in reader.frames()]


def ask(secc: Secc, message: object, now: float = T0) -> Any:
    secc.receive_data(encode_message(message), now)
    (answer,) = answers(secc.data_to_send())
    return answer


def header(session_id: bytes = bytes(8)) -> ct.MessageHeader:
    return ct.MessageHeader(session_id=session_id, time_stamp=int(T0))


def secc_after_session_setup(config: SeccConfig | None = None) -> tuple[Secc, bytes]:
    secc = Secc(config or SeccConfig())
    ask(secc, sap.offer())
    res = ask(secc, cm.SessionSetupReq(header=header(), evccid="EV1"))
    return secc, res.header.session_id


class Pair:
    """An SECC and an EVCC with simple owners, paired in memory."""

    def __init__(
        self, ev_state: EvState, evcc_config: EvccConfig, secc_config: SeccConfig | None = None
    ) -> None:
        self.secc = Secc(secc_config or SeccConfig())
        self.evcc = Evcc(ev_state, evcc_config)
        self.evse = SimpleEvse(self.secc)
        self.ev = SimpleEv(self.evcc)
        self.loops = 0

    def run(self, script: dict[int, Any] | None = None) -> float:
        """Run the session; `script[n](pair)` runs when the EVCC has had its n-th charge-loop answer."""
        script = script or {}

        def step(_s: Secc, e: Evcc, now: float) -> None:
            self.evse.on_events()
            before = len(self.ev.trace)
            self.ev.on_events(now)
            from bidicharge.protocols.iso15118_20 import events as ev

            for event in self.ev.trace[before:]:
                if isinstance(event, ev.PowerCommanded):
                    self.loops += 1
                    if self.loops in script:
                        script[self.loops](self)

        return run_in_memory(self.secc, self.evcc, now=T0, on_step=step)
