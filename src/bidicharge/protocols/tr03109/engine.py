"""The smart meter gateway's core (BSI TR-03109-1): meter readings in, sealed TAF
messages for each EMT out, sans-I/O.

A component feeds it what arrives and the time:

    core.apply_profile_update(cms_from_gwa, now=t)     # only the GWA configures
    core.receive_sml(bytes_from_lmn, now=t)            # or receive_reading(MeterReading)
    core.poll(now=t)                                   # due captures -> sealed messages
    for emt in core.emts_with_backlog():
        for msg in core.pending(emt): send msg.cms; core.acknowledge(emt, msg.sequence_no)

Every message is the document JSON, CMS-signed with the gateway key and enveloped for
the EMT's encryption certificate. `next_deadline()` says when `poll` has work next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from cryptography import x509

from bidicharge.protocols.sml import MeterReading, SmlError, SmlFile, SmlStreamDecoder, parse_reading

from .capture import (
    ReadingHistory,
    StageRegisters,
    StampedReading,
    capture,
    next_boundary,
    next_send,
    raw_values,
)
from .cms_enveloped import envelope
from .cms_signed import Signer, sign
from .document_codec import encode_document
from .errors import LocalProtocolError, RemoteProtocolError
from .events import MessageQueued, MeterSilent, ProfileApplied, ProfileRefused, ReadingRefused, SmgwEvent
from .outbox import Outbox, OutgoingMessage
from .profile import EmtEndpoint, EvaluationProfile, GatewayProfile
from .profile_update import ProfileGuard
from .taf import MeterDataDocument, MeterValue, Taf


@dataclass(slots=True, kw_only=True)
class _Evaluation:
    profile: EvaluationProfile
    period_start: float
    next_capture: float
    values: list[MeterValue] = field(default_factory=list)
    stages: StageRegisters | None = None


class SmgwCore:
    def __init__(self, *, gateway_id: str, signer: Signer, gwa_certificate: x509.Certificate,
                 roots: Sequence[x509.Certificate], random_bytes: Callable[[int], bytes]) -> None:
        self.gateway_id = gateway_id
        self._signer = signer
        self._random_bytes = random_bytes
        self._guard = ProfileGuard(gateway_id=gateway_id, gwa_certificate=gwa_certificate, roots=roots)
        self._evaluations: dict[str, _Evaluation] = {}
        self._histories: dict[str, ReadingHistory] = {}
        self._silent: set[str] = set()
        self._decoder = SmlStreamDecoder()
        self._outbox = Outbox()
        self._events: list[SmgwEvent] = []
        self._now = float("-inf")
        self._recipients: dict[bytes, x509.Certificate] = {}

    # ---- configuration (GWA only) -------------------------------------------------
    @property
    def profile(self) -> GatewayProfile | None:
        return self._guard.profile

    def apply_profile_update(self, data: bytes, *, now: float) -> bool:
        """Apply a GWA-signed profile; a refused one is logged as `ProfileRefused`, the old one stays."""
        try:
            profile = self._guard.apply(data, now=now)
        except RemoteProtocolError as exc:
            self._events.append(ProfileRefused(reason=exc.reason, detail=str(exc), at=now))
            return False
        old = self._evaluations
        self._evaluations = {}
        for ev in profile.evaluations:
            kept = old.get(ev.profile_id)
            self._evaluations[ev.profile_id] = kept if kept is not None and kept.profile == ev else self._start(ev, now)
        for meter in profile.meters:
            self._histories.setdefault(meter, ReadingHistory())
        self._events.append(ProfileApplied(version=profile.version, at=now))
        return True

    @staticmethod
    def _start(ev: EvaluationProfile, now: float) -> _Evaluation:
        return _Evaluation(profile=ev, period_start=now, next_capture=next_boundary(ev, now),
                           stages=StageRegisters(ev) if ev.taf is Taf.TAF2 else None)

    # ---- LMN input ------------------------------------------------------------------
    def receive_sml(self, data: bytes, *, now: float) -> None:
        """Bytes from the LMN (SML transport v1); every complete file becomes a reading."""
        self._decoder.receive_bytes(data)
        while True:  # the decoder reports one bad file per raise and goes on with the rest
            try:
                for file in self._decoder.files():
                    self._receive_file(file, now=now)
                return
            except SmlError as exc:
                self._events.append(ReadingRefused(reason="bad-sml", detail=str(exc), at=now))

    def _receive_file(self, file: SmlFile, *, now: float) -> None:
        try:
            reading = parse_reading(file)
        except SmlError as exc:
            self._events.append(ReadingRefused(reason="bad-sml", detail=str(exc), at=now))
            return
        self.receive_reading(reading, now=now)

    def receive_reading(self, reading: MeterReading, *, now: float) -> None:
        if now < self._now:
            raise LocalProtocolError(f"time went back from {self._now} to {now}")
        meter = reading.server_id.hex()
        history = self._histories.get(meter)
        if history is None:
            self._events.append(ReadingRefused(reason="unknown-meter", detail=meter, at=now))
            return
        last = history.last
        if last is not None and (reading.import_energy_Wh < last.reading.import_energy_Wh
                                 or reading.export_energy_Wh < last.reading.export_energy_Wh):
            self._events.append(ReadingRefused(reason="register-went-back", detail=meter, at=now))
            return
        self._advance(now, inclusive=False)  # captures before `now` must not see this reading
        stamped = StampedReading(at=now, reading=reading)
        history.append(stamped)
        self._silent.discard(meter)
        for ev in self._evaluations.values():
            if ev.stages is not None and ev.profile.meter_id == meter:
                ev.stages.add(stamped)

    # ---- time -------------------------------------------------------------------------
    def poll(self, *, now: float) -> None:
        """Capture and seal everything due at or before `now`."""
        self._advance(now, inclusive=True)
        self._watch_meters(now)
        self._trim()

    def next_deadline(self) -> float | None:
        return min((ev.next_capture for ev in self._evaluations.values()), default=None)

    def _advance(self, now: float, *, inclusive: bool) -> None:
        self._now = max(self._now, now)
        for ev in self._evaluations.values():
            while ev.next_capture < now or (inclusive and ev.next_capture == now):
                self._capture(ev, ev.next_capture)
                ev.next_capture = next_boundary(ev.profile, ev.next_capture)

    def _capture(self, ev: _Evaluation, t: float) -> None:
        profile = ev.profile
        history = self._histories[profile.meter_id]
        if profile.taf is Taf.TAF14:
            ev.values += [v for stamped in history.between(ev.period_start, t) for v in raw_values(stamped)]
            if ev.values:
                self._seal(profile, ev.values, start=ev.period_start, end=t)
            ev.values, ev.period_start = [], t
            return
        if ev.stages is not None:
            ev.values += ev.stages.values(t)
        else:
            ev.values += capture(profile, history, t)
        if next_send(profile, ev.period_start) <= t:
            self._seal(profile, ev.values, start=ev.period_start, end=t)
            ev.values, ev.period_start = [], t

    def _watch_meters(self, now: float) -> None:
        for ev in self._evaluations.values():
            meter = ev.profile.meter_id
            last = self._histories[meter].last
            if meter not in self._silent and (last is None or now - last.at > ev.profile.max_reading_age_s):
                if last is not None or now - ev.period_start > ev.profile.max_reading_age_s:
                    self._silent.add(meter)
                    self._events.append(MeterSilent(meter_id=meter, last_reading_at=None if last is None else last.at,
                                                    at=now))

    def _trim(self) -> None:
        """Keep only what a future capture can still use: TAF 14 its period's raw readings, the
        others the readings within `max_reading_age_s` of their next capture (a TAF 1 month is
        not kept in memory)."""
        for meter, history in self._histories.items():
            starts = [ev.period_start if ev.profile.taf is Taf.TAF14
                      else ev.next_capture - ev.profile.max_reading_age_s
                      for ev in self._evaluations.values() if ev.profile.meter_id == meter]
            history.trim_before(min(starts, default=self._now))

    def history_size(self, meter_id: str) -> int:
        """Readings kept for `meter_id` (bounded by the profiles, see `_trim`)."""
        history = self._histories.get(meter_id)
        return 0 if history is None else len(history)

    # ---- on request -------------------------------------------------------------------
    def request_feed_in(self, profile_id: str, *, now: float) -> OutgoingMessage:
        """TAF 9 on the EMT's request: the current feed-in, sealed and queued at once."""
        ev = self._evaluations.get(profile_id)
        if ev is None or ev.profile.taf is not Taf.TAF9:
            raise LocalProtocolError(f"no TAF 9 profile {profile_id!r}")
        self._now = max(self._now, now)
        values = capture(ev.profile, self._histories[ev.profile.meter_id], now)
        return self._seal(ev.profile, values, start=now, end=now, on_request=True)

    # ---- WAN side -----------------------------------------------------------------------
    def _seal(self, profile: EvaluationProfile, values: Sequence[MeterValue], *, start: float, end: float,
              on_request: bool = False) -> OutgoingMessage:
        guard_profile = self._guard.profile
        assert guard_profile is not None
        endpoint = guard_profile.emt(profile.emt_id)
        seq = self._outbox.next_sequence_no(profile.emt_id)
        doc = MeterDataDocument(gateway_id=self.gateway_id, meter_id=profile.meter_id, emt_id=profile.emt_id,
                                taf=profile.taf, profile_id=profile.profile_id, sequence_no=seq, created_at=self._now,
                                period_start=start, period_end=end, values=tuple(values), on_request=on_request)
        recipient = self._recipients.get(endpoint.encryption_certificate_der)
        if recipient is None:
            recipient = x509.load_der_x509_certificate(endpoint.encryption_certificate_der)
            self._recipients[endpoint.encryption_certificate_der] = recipient
        cms = envelope(sign(encode_document(doc), self._signer, now=self._now), recipient,
                       random_bytes=self._random_bytes)
        message = OutgoingMessage(emt_id=profile.emt_id, sequence_no=seq, document=doc, cms=cms)
        self._outbox.put(message)
        self._events.append(MessageQueued(emt_id=profile.emt_id, sequence_no=seq, taf=profile.taf,
                                          profile_id=profile.profile_id, value_count=len(values), at=self._now))
        return message

    def emts_with_backlog(self) -> tuple[str, ...]:
        return self._outbox.emts_with_backlog()

    def pending(self, emt_id: str) -> tuple[OutgoingMessage, ...]:
        return self._outbox.pending(emt_id)

    def acknowledge(self, emt_id: str, sequence_no: int) -> None:
        self._outbox.acknowledge(emt_id, sequence_no)

    @property
    def backlog_size(self) -> int:
        return len(self._outbox)

    def endpoint(self, emt_id: str) -> EmtEndpoint | None:
        profile = self._guard.profile
        return None if profile is None else next((e for e in profile.emts if e.emt_id == emt_id), None)

    # ---- HAN side -----------------------------------------------------------------------
    def latest_readings(self) -> dict[str, StampedReading]:
        """The newest reading of each bound meter (what the HAN shows the household)."""
        return {m: h.last for m, h in self._histories.items() if h.last is not None}

    def events(self) -> Iterator[SmgwEvent]:
        events, self._events = self._events, []
        return iter(events)
