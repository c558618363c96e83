"""Runtime form of the generated schema-informed grammars (W3C EXI 1.0 §8.5.4).

The generator (tools/gen_exi.py) writes, per complex type, its fields and its normalised
grammar rows; `TypeDef.link` turns them into `Grammar` objects whose `State`s know the
width of their first-level event code and map each field to (event code, next state).

ISO 15118 uses EXI's default ``strict = false``: every state also has undeclared
productions (§8.5.4.4.1) reached through a second-level code. We never emit them and reject
them when decoding, but they widen each first-level code to ceil(log2(n + 1)) bits for n
declared productions, which is why `State.nbits` is ``n.bit_length()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .values import ValueCodec

# production kinds in the generated rows
AT, SE, SE_ANY, CH, CH_UNTYPED, EE = "A", "S", "W", "C", "U", "E"
EE_KEY = -1  # key of the EE production in `State.enc`

Row = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True)
class T:
    """Forward reference to the grammar of a complex type, by generated class path."""

    name: str


class Field:
    __slots__ = ("attr", "uri", "local", "kind", "value", "child", "repeated", "_ref")

    def __init__(
        self, attr: str, uri: str, local: str, kind: str, value: ValueCodec | T, repeated: bool
    ) -> None:
        self.attr = attr
        self.uri = uri
        self.local = local
        self.kind = kind  # "a" attribute, "e" element, "c" simple content
        self.value: ValueCodec | None = value if isinstance(value, ValueCodec) else None
        self._ref = value if isinstance(value, T) else None
        self.child: Grammar | None = None
        self.repeated = repeated


class State:
    __slots__ = ("nbits", "n", "enc", "dec")

    def __init__(self, n: int) -> None:
        self.n = n
        self.nbits = n.bit_length()  # +1 code value for the second level (strict = false)
        self.enc: dict[int, tuple[int, State]] = {}
        self.dec: list[tuple[str, int, State]] = []


class Grammar:
    __slots__ = ("cls", "fields", "start", "name")

    def __init__(self, cls: type[Any], fields: tuple[Field, ...], start: State, name: str) -> None:
        self.cls = cls
        self.fields = fields
        self.start = start
        self.name = name


class TypeDef:
    """What the generated module declares for one complex type."""

    __slots__ = ("cls", "fields", "runs")

    def __init__(
        self,
        cls: type[Any],
        fields: tuple[tuple[str, str, str, str, ValueCodec | T, bool], ...],
        runs: tuple[tuple[int, Row], ...],
    ) -> None:
        self.cls = cls
        self.fields = fields
        self.runs = runs

    def build(self, name: str) -> Grammar:
        rows: list[Row] = []
        for count, row in self.runs:
            rows.extend([row] * count)
        states = [State(len(row)) for row in rows]
        for i, (st, row) in enumerate(zip(states, rows, strict=True)):
            for code, (kind, fi, rel) in enumerate(row):
                nxt = states[i + rel]
                st.dec.append((kind, fi, nxt))
                if kind in (AT, SE, CH):
                    st.enc[fi] = (code, nxt)
                elif kind == EE:
                    st.enc[EE_KEY] = (code, nxt)
        fields = tuple(Field(*f) for f in self.fields)
        return Grammar(self.cls, fields, states[0], name)


@dataclass(frozen=True, slots=True)
class Doc:
    """Document grammar of one schema set: its global elements in EXI order (§8.5.1)."""

    globals: tuple[tuple[str, str, ValueCodec | T | None], ...]


def link(types: dict[str, TypeDef]) -> dict[str, Grammar]:
    grammars = {name: td.build(name) for name, td in types.items()}
    for g in grammars.values():
        for f in g.fields:
            if f._ref is not None:
                f.child = grammars[f._ref.name]
    return grammars
