"""Information elements on the wire, one codec row per type identification (101 7.2.6, 7.3).

:data:`ELEMENT_CODECS` says for each supported type which information object class it
carries, how many octets its elements take (without IOA and time tag), whether a
CP56Time2a follows, and how to encode and decode them. A type without a row is unknown.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .codes import InitCause, Quality, TypeId
from .cp56time import Cp56Time2a
from .errors import LocalProtocolError, RemoteProtocolError
from .objects import (
    ClockSync,
    CounterInterrogation,
    DoubleCommand,
    DoublePoint,
    DoublePointState,
    EndOfInitialisation,
    InformationObject,
    IntegratedTotal,
    Interrogation,
    MeasuredFloat,
    MeasuredNormalized,
    MeasuredScaled,
    ReadCommand,
    SetpointFloat,
    SetpointNormalized,
    SetpointScaled,
    SingleCommand,
    SinglePoint,
)

_FLOAT_Q: Final = struct.Struct("<fB")
# Enum construction is slow on the hot path; decoded codes are looked up instead.
_QUALITY: Final = {q: Quality(q) for q in range(256) if q & ~0xF1 == 0}
_DP_STATES: Final = {int(d): d for d in DoublePointState}


def _enc_sp(o: InformationObject) -> bytes:
    assert isinstance(o, SinglePoint)
    return bytes(((int(o.quality) & 0xF0) | (1 if o.value else 0),))


def _dec_sp(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    return SinglePoint(ioa=ioa, value=bool(b[0] & 1), quality=_QUALITY[b[0] & 0xF0], time=t)


def _enc_me_float(o: InformationObject) -> bytes:
    assert isinstance(o, MeasuredFloat)
    try:
        return _FLOAT_Q.pack(o.value, int(o.quality) & 0xF1)
    except (OverflowError, struct.error) as exc:
        raise LocalProtocolError(f"measured value {o.value!r} does not fit a float32") from exc


def _dec_me_float(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    value, qds = _FLOAT_Q.unpack_from(b)
    return MeasuredFloat(ioa=ioa, value=value, quality=_QUALITY[qds & 0xF1], time=t)


def _enc_sco(o: InformationObject) -> bytes:
    assert isinstance(o, SingleCommand)
    if not 0 <= o.qualifier <= 31:
        raise LocalProtocolError(f"QU {o.qualifier} out of 0..31")
    return bytes(((0x80 if o.select else 0) | (o.qualifier << 2) | (1 if o.on else 0),))


def _dec_sco(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    return SingleCommand(
        ioa=ioa, on=bool(b[0] & 1), select=bool(b[0] & 0x80), qualifier=(b[0] >> 2) & 0x1F, time=t
    )


def _enc_se_float(o: InformationObject) -> bytes:
    assert isinstance(o, SetpointFloat)
    if not 0 <= o.qualifier <= 127:
        raise LocalProtocolError(f"QL {o.qualifier} out of 0..127")
    try:
        return _FLOAT_Q.pack(o.value, (0x80 if o.select else 0) | o.qualifier)
    except (OverflowError, struct.error) as exc:
        raise LocalProtocolError(f"set-point {o.value!r} does not fit a float32") from exc


def _dec_se_float(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    value, qos = _FLOAT_Q.unpack_from(b)
    return SetpointFloat(ioa=ioa, value=value, select=bool(qos & 0x80), qualifier=qos & 0x7F, time=t)


def _enc_qoi(o: InformationObject) -> bytes:
    assert isinstance(o, Interrogation)
    if not 0 <= o.qualifier <= 255:
        raise LocalProtocolError(f"QOI {o.qualifier} out of 0..255")
    return bytes((o.qualifier,))


def _dec_qoi(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    return Interrogation(ioa=ioa, qualifier=b[0])


def _enc_nothing(o: InformationObject) -> bytes:
    return b""


def _dec_clock(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    assert t is not None
    return ClockSync(ioa=ioa, time=t)


def _enc_coi(o: InformationObject) -> bytes:
    assert isinstance(o, EndOfInitialisation)
    return bytes((int(o.cause) | (0x80 if o.after_parameter_change else 0),))


def _dec_coi(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    code = b[0] & 0x7F
    if code not in InitCause._value2member_map_:
        raise RemoteProtocolError(f"cause of initialisation {code} is reserved", close_connection=True)
    return EndOfInitialisation(ioa=ioa, cause=InitCause(code), after_parameter_change=bool(b[0] & 0x80))


_BCR: Final = struct.Struct("<iB")


def _enc_dp(o: InformationObject) -> bytes:
    assert isinstance(o, DoublePoint)
    return bytes(((int(o.quality) & 0xF0) | int(o.state),))


def _dec_dp(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    return DoublePoint(ioa=ioa, state=_DP_STATES[b[0] & 0x03], quality=_QUALITY[b[0] & 0xF0], time=t)


def _enc_dco(o: InformationObject) -> bytes:
    assert isinstance(o, DoubleCommand)
    if o.state not in (DoublePointState.OFF, DoublePointState.ON):
        raise LocalProtocolError(f"DCS {o.state.name} is not permitted in a double command (7.2.6.16)")
    if not 0 <= o.qualifier <= 31:
        raise LocalProtocolError(f"QU {o.qualifier} out of 0..31")
    return bytes(((0x80 if o.select else 0) | (o.qualifier << 2) | int(o.state),))


def _dec_dco(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    state = _DP_STATES[b[0] & 0x03]
    return DoubleCommand(ioa=ioa, state=state, select=bool(b[0] & 0x80), qualifier=(b[0] >> 2) & 0x1F, time=t)


def _enc_bcr(o: InformationObject) -> bytes:
    assert isinstance(o, IntegratedTotal)
    if not -(2**31) <= o.counter < 2**31 or not 0 <= o.sequence <= 31:
        raise LocalProtocolError(f"counter {o.counter} or sequence {o.sequence} out of range")
    flags = o.sequence | (0x20 if o.carry else 0) | (0x40 if o.adjusted else 0) | (0x80 if o.invalid else 0)
    return _BCR.pack(o.counter, flags)


def _dec_bcr(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    counter, flags = _BCR.unpack_from(b)
    return IntegratedTotal(
        ioa=ioa,
        counter=counter,
        sequence=flags & 0x1F,
        carry=bool(flags & 0x20),
        adjusted=bool(flags & 0x40),
        invalid=bool(flags & 0x80),
        time=t,
    )


def _enc_qcc(o: InformationObject) -> bytes:
    assert isinstance(o, CounterInterrogation)
    if not 0 <= o.request <= 63 or not 0 <= o.freeze <= 3:
        raise LocalProtocolError(f"QCC request {o.request} / freeze {o.freeze} out of range")
    return bytes((o.request | (o.freeze << 6),))


def _dec_qcc(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    return CounterInterrogation(ioa=ioa, request=b[0] & 0x3F, freeze=b[0] >> 6)


def _dec_read(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    return ReadCommand(ioa=ioa)


_INT16_Q: Final = struct.Struct("<hB")


def _int16(value: int, what: str) -> int:
    if not -32768 <= value <= 32767:
        raise LocalProtocolError(f"{what} {value} does not fit 16 bits")
    return value


def _nva(value: float) -> int:
    """NVA (7.2.6.6): value x 2^15, -1 .. 1 - 2^-15."""
    return _int16(round(value * 32768), "normalised value x 32768")


def _enc_me_norm(o: InformationObject) -> bytes:
    assert isinstance(o, MeasuredNormalized)
    return _INT16_Q.pack(_nva(o.value), int(o.quality) & 0xF1)


def _dec_me_norm(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    raw, qds = _INT16_Q.unpack_from(b)
    return MeasuredNormalized(ioa=ioa, value=raw / 32768, quality=_QUALITY[qds & 0xF1], time=t)


def _enc_me_scaled(o: InformationObject) -> bytes:
    assert isinstance(o, MeasuredScaled)
    return _INT16_Q.pack(_int16(o.value, "scaled value"), int(o.quality) & 0xF1)


def _dec_me_scaled(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    raw, qds = _INT16_Q.unpack_from(b)
    return MeasuredScaled(ioa=ioa, value=raw, quality=_QUALITY[qds & 0xF1], time=t)


def _qos(select: bool, qualifier: int) -> int:
    if not 0 <= qualifier <= 127:
        raise LocalProtocolError(f"QL {qualifier} out of 0..127")
    return (0x80 if select else 0) | qualifier


def _enc_se_norm(o: InformationObject) -> bytes:
    assert isinstance(o, SetpointNormalized)
    return _INT16_Q.pack(_nva(o.value), _qos(o.select, o.qualifier))


def _dec_se_norm(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    raw, qos = _INT16_Q.unpack_from(b)
    return SetpointNormalized(
        ioa=ioa, value=raw / 32768, select=bool(qos & 0x80), qualifier=qos & 0x7F, time=t
    )


def _enc_se_scaled(o: InformationObject) -> bytes:
    assert isinstance(o, SetpointScaled)
    return _INT16_Q.pack(_int16(o.value, "scaled set-point"), _qos(o.select, o.qualifier))


def _dec_se_scaled(ioa: int, b: memoryview, t: Cp56Time2a | None) -> InformationObject:
    raw, qos = _INT16_Q.unpack_from(b)
    return SetpointScaled(ioa=ioa, value=raw, select=bool(qos & 0x80), qualifier=qos & 0x7F, time=t)


@dataclass(frozen=True, slots=True, kw_only=True)
class ElementCodec:
    """How one type id's elements look: object class, octets without IOA and time, time tag."""

    cls: type
    size: int
    timed: bool
    encode: Callable[[InformationObject], bytes]
    decode: Callable[[int, memoryview, Cp56Time2a | None], InformationObject]


ELEMENT_CODECS: Final[dict[TypeId, ElementCodec]] = {
    TypeId.M_SP_NA_1: ElementCodec(cls=SinglePoint, size=1, timed=False, encode=_enc_sp, decode=_dec_sp),
    TypeId.M_SP_TB_1: ElementCodec(cls=SinglePoint, size=1, timed=True, encode=_enc_sp, decode=_dec_sp),
    TypeId.M_ME_NC_1: ElementCodec(
        cls=MeasuredFloat, size=5, timed=False, encode=_enc_me_float, decode=_dec_me_float
    ),
    TypeId.M_ME_TF_1: ElementCodec(
        cls=MeasuredFloat, size=5, timed=True, encode=_enc_me_float, decode=_dec_me_float
    ),
    TypeId.C_SC_NA_1: ElementCodec(cls=SingleCommand, size=1, timed=False, encode=_enc_sco, decode=_dec_sco),
    TypeId.C_SC_TA_1: ElementCodec(cls=SingleCommand, size=1, timed=True, encode=_enc_sco, decode=_dec_sco),
    TypeId.C_SE_NC_1: ElementCodec(
        cls=SetpointFloat, size=5, timed=False, encode=_enc_se_float, decode=_dec_se_float
    ),
    TypeId.C_SE_TC_1: ElementCodec(
        cls=SetpointFloat, size=5, timed=True, encode=_enc_se_float, decode=_dec_se_float
    ),
    TypeId.C_IC_NA_1: ElementCodec(cls=Interrogation, size=1, timed=False, encode=_enc_qoi, decode=_dec_qoi),
    TypeId.C_CS_NA_1: ElementCodec(cls=ClockSync, size=0, timed=True, encode=_enc_nothing, decode=_dec_clock),
    TypeId.M_EI_NA_1: ElementCodec(
        cls=EndOfInitialisation, size=1, timed=False, encode=_enc_coi, decode=_dec_coi
    ),
    TypeId.M_DP_NA_1: ElementCodec(cls=DoublePoint, size=1, timed=False, encode=_enc_dp, decode=_dec_dp),
    TypeId.M_DP_TB_1: ElementCodec(cls=DoublePoint, size=1, timed=True, encode=_enc_dp, decode=_dec_dp),
    TypeId.C_DC_NA_1: ElementCodec(cls=DoubleCommand, size=1, timed=False, encode=_enc_dco, decode=_dec_dco),
    TypeId.C_DC_TA_1: ElementCodec(cls=DoubleCommand, size=1, timed=True, encode=_enc_dco, decode=_dec_dco),
    TypeId.M_IT_NA_1: ElementCodec(
        cls=IntegratedTotal, size=5, timed=False, encode=_enc_bcr, decode=_dec_bcr
    ),
    TypeId.M_IT_TB_1: ElementCodec(cls=IntegratedTotal, size=5, timed=True, encode=_enc_bcr, decode=_dec_bcr),
    TypeId.C_CI_NA_1: ElementCodec(
        cls=CounterInterrogation, size=1, timed=False, encode=_enc_qcc, decode=_dec_qcc
    ),
    TypeId.M_ME_NA_1: ElementCodec(
        cls=MeasuredNormalized, size=3, timed=False, encode=_enc_me_norm, decode=_dec_me_norm
    ),
    TypeId.M_ME_TD_1: ElementCodec(
        cls=MeasuredNormalized, size=3, timed=True, encode=_enc_me_norm, decode=_dec_me_norm
    ),
    TypeId.M_ME_NB_1: ElementCodec(
        cls=MeasuredScaled, size=3, timed=False, encode=_enc_me_scaled, decode=_dec_me_scaled
    ),
    TypeId.M_ME_TE_1: ElementCodec(
        cls=MeasuredScaled, size=3, timed=True, encode=_enc_me_scaled, decode=_dec_me_scaled
    ),
    TypeId.C_SE_NA_1: ElementCodec(
        cls=SetpointNormalized, size=3, timed=False, encode=_enc_se_norm, decode=_dec_se_norm
    ),
    TypeId.C_SE_TA_1: ElementCodec(
        cls=SetpointNormalized, size=3, timed=True, encode=_enc_se_norm, decode=_dec_se_norm
    ),
    TypeId.C_SE_NB_1: ElementCodec(
        cls=SetpointScaled, size=3, timed=False, encode=_enc_se_scaled, decode=_dec_se_scaled
    ),
    TypeId.C_SE_TB_1: ElementCodec(
        cls=SetpointScaled, size=3, timed=True, encode=_enc_se_scaled, decode=_dec_se_scaled
    ),
    TypeId.C_RD_NA_1: ElementCodec(
        cls=ReadCommand, size=0, timed=False, encode=_enc_nothing, decode=_dec_read
    ),
}
