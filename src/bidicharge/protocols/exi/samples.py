"""Grammar-driven sample messages: every message the schema allows, none it forbids.

`sample_message` walks a type's EXI grammar (the same tables the codec uses), letting a
caller-supplied `choose(n) -> int in [0, n)` pick each production and each value, so the
result is valid by construction. Hypothesis drives `choose` for property tests and
fuzzing; ``tools/make_exi_vectors.py`` and the benchmark drive it from a seeded
``numpy.random.Generator``. No randomness lives here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .grammar import AT, CH, EE, SE, Grammar, State
from .values import ValueCodec, _Bin, _Bool, _Enum, _Int, _NBit, _Str, _UInt

Chooser = Callable[[int], int]

_ALPHABET = "aZ09_-:.*/éß€"  # no blanks: xs:ID/anyURI values are whitespace-collapsed in XML


class Unsamplable(Exception):
    """The type's content is only wildcards or mixed text, which the dataclasses cannot hold."""


def sample_message(g: Grammar, choose: Chooser, *, max_repeat: int = 3, depth: int = 0) -> Any:
    """A valid instance of `g.cls`; repeated fields get at most `max_repeat` items unless the
    schema demands more."""
    st = g.start
    values: dict[str, Any] = {}
    counts: dict[int, int] = {}
    for _ in range(10_000):  # bounded: every grammar here ends well within this
        options = [p for p in st.dec if p[0] in (SE, AT, CH, EE)]
        capped = [p for p in options if p[0] == EE or counts.get(p[1], 0) < max_repeat] or options
        if depth > 8:  # keep deep content small
            capped = [p for p in capped if p[0] == EE] or capped
        picked = _pick(g, capped, choose, max_repeat, depth)
        if picked is None:
            break
        fi, value, st = picked
        f = g.fields[fi]
        counts[fi] = counts.get(fi, 0) + 1
        if f.repeated:
            values.setdefault(f.attr, []).append(value)
        else:
            values[f.attr] = value
    for f in g.fields:
        if f.repeated and f.attr in values:
            values[f.attr] = tuple(values[f.attr])
    return g.cls(**values)


def _pick(
    g: Grammar, options: list[tuple[str, int, State]], choose: Chooser, max_repeat: int, depth: int
) -> tuple[int, Any, State] | None:
    """Choose a production and a value for it; None for EE."""
    while options:
        kind, fi, nxt = options[choose(len(options))]
        if kind == EE:
            return None
        f = g.fields[fi]
        try:
            if f.child is not None:
                value = sample_message(f.child, choose, max_repeat=max_repeat, depth=depth + 1)
            else:
                assert f.value is not None
                # empty simple content is not encodable (see codec._emit)
                value = sample_value(f.value, choose, min_length=1 if f.kind == "c" else 0)
        except Unsamplable:
            options = [p for p in options if p[1] != fi]
            continue
        return fi, value, nxt
    raise Unsamplable(g.cls.__name__)


def sample_value(codec: ValueCodec, choose: Chooser, *, min_length: int = 0) -> Any:
    if isinstance(codec, _Bool):
        return choose(2) == 1
    if isinstance(codec, _NBit):
        lo, hi = codec.lo, codec.hi
        assert lo is not None and hi is not None
        return [lo, hi, (lo + hi) // 2, lo + choose(hi - lo + 1)][choose(4)]
    if isinstance(codec, _UInt):
        lo = codec.lo or 0
        hi = codec.hi if codec.hi is not None else 2**80
        cands = [lo, hi, 127, 128, 16_383, 16_384, lo + choose(min(hi - lo + 1, 1 << 30))]
        return [c for c in cands if lo <= c <= hi][choose(len([c for c in cands if lo <= c <= hi]))]
    if isinstance(codec, _Int):
        lo = codec.lo if codec.lo is not None else -(2**80)
        hi = codec.hi if codec.hi is not None else 2**80
        cands = [c for c in (lo, hi, -1, 0, 1, -129, 300, -70_000) if lo <= c <= hi]
        return cands[choose(len(cands))]
    if isinstance(codec, _Str):
        n = (
            codec.length
            if codec.length is not None
            else max(min_length, choose(min(codec.max_length or 24, 24) + 1))
        )
        return "".join(_ALPHABET[choose(len(_ALPHABET))] for _ in range(n))
    if isinstance(codec, _Bin):
        n = (
            codec.length
            if codec.length is not None
            else max(min_length, choose(min(codec.max_length or 40, 40) + 1))
        )
        return bytes(choose(256) for _ in range(n))
    if isinstance(codec, _Enum):
        members = [v for v in codec.values if v in codec.cls._value2member_map_]
        return codec.cls(members[choose(len(members))])
    raise TypeError(f"no sampler for {type(codec).__name__}")
