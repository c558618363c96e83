"""Schema-informed EXI encoder and decoder for ISO 15118-20 messages (W3C EXI 1.0).

`encode(message)` turns a generated message dataclass into one EXI document;
`decode(data, namespace)` turns one EXI document of the given schema set back into the
dataclass. The schema set is named by its namespace: ``urn:iso:15118:2:2010:AppProtocol``
(SupportedAppProtocol), ``urn:iso:std:iso:15118:-20:CommonMessages``, ``…:-20:AC``,
``…:-20:DC``, ``…:-20:WPT``, ``…:-20:ACDP``; the V2GTP payload type tells the receiver
which one applies. ``http://www.w3.org/2000/09/xmldsig#`` (xmldsig alone) is the schema set
of the SignedInfo fragment that Plug & Charge signatures are computed over.

Options (the ISO 15118 profile, as Josev's EXIficient jar and EVerest's libcbv2g use it):
schema-informed, ``strict = false`` (default fidelity options, no preserve flags),
``alignment = bit-packed``, header without cookie and without options document, no string
tables. The header is therefore the single octet ``0x80`` (§5: distinguishing bits ``10``,
no options, final version 1).
"""

from __future__ import annotations

from typing import Any

from ._generated.grammars_iso15118_20 import DOCS, FRAGMENTS, TYPES
from .bitstream import BitReader, BitWriter
from .errors import ExiError, LocalProtocolError, RemoteProtocolError
from .grammar import AT, CH, EE, EE_KEY, SE, Doc, Grammar, State, T, TypeDef, link
from .values import ValueCodec, _Bin, _Str

HEADER = 0x80

NS_APP_PROTOCOL = "urn:iso:15118:2:2010:AppProtocol"
NS_COMMON_MESSAGES = "urn:iso:std:iso:15118:-20:CommonMessages"
NS_AC = "urn:iso:std:iso:15118:-20:AC"
NS_DC = "urn:iso:std:iso:15118:-20:DC"
NS_WPT = "urn:iso:std:iso:15118:-20:WPT"
NS_ACDP = "urn:iso:std:iso:15118:-20:ACDP"
NS_XMLDSIG = "http://www.w3.org/2000/09/xmldsig#"


class _DocGrammar:
    """Document grammar of one schema set (§8.5.1): SD, DocContent, DocEnd."""

    __slots__ = ("namespace", "nbits", "globals", "by_class", "fragment")

    def __init__(
        self,
        namespace: str,
        globals_: list[tuple[str, str, Grammar | ValueCodec | None]],
        *,
        fragment: bool = False,
    ) -> None:
        self.namespace = namespace
        self.globals = globals_
        # DocContent: one SE per global element plus SE(*): n + 1 codes (§8.5.1).
        # FragmentContent: SE per element declaration, SE(*) and ED: n + 2 codes (§8.5.2),
        # and ED is written after the element (a document's DocEnd has 0-bit ED).
        self.fragment = fragment
        self.nbits = (len(globals_) + 1 if fragment else len(globals_)).bit_length()
        by_class: dict[type[Any], int] = {}
        ambiguous: set[type[Any]] = set()
        for code, (_uri, _local, g) in enumerate(globals_):
            if isinstance(g, Grammar):
                if g.cls in by_class:
                    ambiguous.add(g.cls)
                by_class[g.cls] = code
        for cls in ambiguous:
            del by_class[cls]
        self.by_class = by_class


_NAMESPACE_OF_MODULE = {
    "app_protocol": NS_APP_PROTOCOL,
    "common_messages": NS_COMMON_MESSAGES,
    "ac": NS_AC,
    "dc": NS_DC,
    "wpt": NS_WPT,
    "acdp": NS_ACDP,
    "xmldsig": NS_XMLDSIG,
}


def namespace_of(message: object) -> str | None:
    """The schema set a message class belongs to by default (None for shared types)."""
    module = type(message).__module__.rpartition(".")[2]
    return _NAMESPACE_OF_MODULE.get(module)


class ExiCodec:
    """Encoder/decoder for the schema sets of one schema profile (a set of XSD versions)."""

    def __init__(
        self, profile: str, types: dict[str, TypeDef], docs: dict[str, Doc], fragments: dict[str, Doc]
    ) -> None:
        self.profile = profile
        grammars = link(types)

        def build(ns: str, doc: Doc, fragment: bool) -> _DocGrammar:
            entries: list[tuple[str, str, Grammar | ValueCodec | None]] = []
            for uri, local, ref in doc.globals:
                entries.append((uri, local, grammars[ref.name] if isinstance(ref, T) else ref))
            return _DocGrammar(ns, entries, fragment=fragment)

        self._docs = {ns: build(ns, doc, False) for ns, doc in docs.items()}
        self._fragments = {ns: build(ns, doc, True) for ns, doc in fragments.items()}
        self.namespaces = tuple(self._docs)

    def _root_code(
        self, message: object, namespace: str | None, element: str | None, *, fragment: bool = False
    ) -> tuple[_DocGrammar, int]:
        ns = namespace or namespace_of(message)
        table = self._fragments if fragment else self._docs
        if ns is None or ns not in table:
            raise LocalProtocolError(f"no schema set given for {type(message).__name__}")
        doc = table[ns]
        code: int | None
        if element is not None:
            matches = [i for i, (u, loc, _g) in enumerate(doc.globals) if element in (loc, f"{{{u}}}{loc}")]
            if len(matches) > 1:
                raise LocalProtocolError(f"{element} is ambiguous in {ns}; give it as '{{uri}}local'")
            code = matches[0] if matches else None
        else:
            code = doc.by_class.get(type(message))
        if code is None:
            raise LocalProtocolError(f"{type(message).__name__} is not a root element of {ns}")
        return doc, code

    def root_of(
        self, message: object, namespace: str | None = None, element: str | None = None
    ) -> tuple[str, Grammar]:
        doc, code = self._root_code(message, namespace, element)
        _uri, local, g = doc.globals[code]
        assert isinstance(g, Grammar)
        return local, g

    def fragment_grammar(self, namespace: str, element: str) -> Grammar:
        """Grammar of an element (global or local) in the fragment grammar of a schema set."""
        doc = self._fragments[namespace]
        g = next((g for _u, loc, g in doc.globals if element == loc), None)
        if not isinstance(g, Grammar):
            raise LocalProtocolError(f"{element} is not a complex element of {namespace}")
        return g

    def roots(self, namespace: str) -> list[tuple[str, Grammar]]:
        """The complex-typed global elements of a schema set, in EXI order."""
        return [(local, g) for _u, local, g in self._docs[namespace].globals if isinstance(g, Grammar)]

    def grammar_of_root(self, namespace: str, local: str) -> Grammar:
        doc = self._docs.get(namespace)
        g = None if doc is None else next((g for _u, loc, g in doc.globals if loc == local), None)
        if not isinstance(g, Grammar):
            raise LocalProtocolError(f"{local} is not a complex root element of {namespace}")
        return g

    def encode(self, message: object, namespace: str | None = None, *, element: str | None = None) -> bytes:
        """One EXI document whose root element carries `message`.

        `namespace` selects the schema set (default: the namespace of the message's class);
        `element` names the root element by local name when several global elements share
        the message's type.
        """
        return self._encode(*self._root_code(message, namespace, element), message, element)

    def encode_fragment(self, message: object, namespace: str | None = None, *, element: str) -> bytes:
        """One EXI fragment (§8.5.2) holding `element` (local name, or ``{uri}local``), as the
        digests and signatures of ISO 15118-20 Plug & Charge are computed over."""
        return self._encode(*self._root_code(message, namespace, element, fragment=True), message, element)

    def _encode(self, doc: _DocGrammar, code: int, message: object, element: str | None) -> bytes:
        g = doc.globals[code][2]
        w = BitWriter()
        w.write(HEADER, 8)
        w.write(code, doc.nbits)  # SD has a single production: 0 bits
        if isinstance(g, Grammar):
            if type(message) is not g.cls:
                raise LocalProtocolError(f"{element} carries {g.cls.__name__}, not {type(message).__name__}")
            _encode_complex(w, g, message)
        elif isinstance(g, ValueCodec):
            _encode_simple_element(w, g, message)
        else:
            raise LocalProtocolError(f"element {doc.globals[code][1]} has no usable grammar")
        if doc.fragment:
            w.write(len(doc.globals) + 1, doc.nbits)  # ED in FragmentContent
        # a document's DocEnd has a single production (comments/PIs not preserved): 0 bits
        return w.getvalue()

    def decode(self, data: bytes, namespace: str) -> Any:
        """Decode one EXI document of schema set `namespace` into its message dataclass.

        Raises `RemoteProtocolError` for anything that is not a valid document of that set.
        """
        return self.decode_element(data, namespace)[1]

    def decode_element(self, data: bytes, namespace: str, *, fragment: bool = False) -> tuple[str, Any]:
        """Like `decode`, also returning the root element's local name; with `fragment`, the
        input is an EXI fragment (§8.5.2) holding one element."""
        doc = (self._fragments if fragment else self._docs).get(namespace)
        if doc is None:
            raise LocalProtocolError(f"unknown schema set {namespace!r}")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise LocalProtocolError("decode() takes bytes")
        data = bytes(data)
        if not data or data[0] != HEADER:
            raise RemoteProtocolError("not an EXI stream with the ISO 15118 header (0x80)")
        r = BitReader(data, 8)
        try:
            code = r.read(doc.nbits)
            if code >= len(doc.globals):
                raise RemoteProtocolError("undeclared root element (SE(*)) not supported")
            _uri, local, g = doc.globals[code]
            if isinstance(g, Grammar):
                value = _decode_complex(r, g)
            elif isinstance(g, ValueCodec):
                value = _decode_simple_element(r, g)
            else:
                raise RemoteProtocolError(f"root element {local} not supported")
            if doc.fragment and r.read(doc.nbits) != len(doc.globals) + 1:
                raise RemoteProtocolError("EXI fragment with more than one element not supported")
            return local, value
        except ExiError:
            raise
        except (ValueError, TypeError, IndexError, OverflowError, RecursionError, MemoryError) as exc:
            # a safety net: the checks in the value codecs should catch garbage first
            raise RemoteProtocolError(f"malformed EXI: {exc!r}") from None


DEFAULT_CODEC = ExiCodec("iso15118-20:2022", TYPES, DOCS, FRAGMENTS)
SCHEMA_NAMESPACES = DEFAULT_CODEC.namespaces
encode = DEFAULT_CODEC.encode
decode = DEFAULT_CODEC.decode
decode_element = DEFAULT_CODEC.decode_element
encode_fragment = DEFAULT_CODEC.encode_fragment


# Element of a simple type (§8.5.4.1.3.1): state 0 declares only CH, state 1 only EE, so each
# first-level code is 1 bit wide (the second value escapes to the undeclared productions).
# An empty string or binary value has no character data in XML, so it is sent as SE followed
# directly by the undeclared EE: escape bit 1, then EE = 0 among the 3-bit second-level codes
# of state 0 (EE, xsi:type, xsi:nil, AT(*), AT(*) untyped, SE(*), CH untyped; §8.5.4.4.1).
# This is what EXIficient (Josev's jar) writes; a CH with an empty value would also be valid.
_SECOND_LEVEL_BITS_SIMPLE = 3


def _encode_simple_element(w: BitWriter, codec: ValueCodec, value: Any) -> None:
    if value == "" or value == b"":
        codec.encode(BitWriter(), value)  # facet checks (e.g. fixed length) still apply
        w.write(1, 1)
        w.write(0, _SECOND_LEVEL_BITS_SIMPLE)
        return
    w.write(0, 1)
    codec.encode(w, value)
    w.write(0, 1)


def _decode_simple_element(r: BitReader, codec: ValueCodec) -> Any:
    if r.read(1) != 0:
        if r.read(_SECOND_LEVEL_BITS_SIMPLE) != 0:
            raise RemoteProtocolError(
                "undeclared production in simple element (xsi:nil/xsi:type?) not supported"
            )
        if isinstance(codec, _Str):
            return codec.check_empty("")
        if isinstance(codec, _Bin):
            return codec.check_empty(b"")
        raise RemoteProtocolError("empty element where the schema requires a value")
    value = codec.decode(r)
    if r.read(1) != 0:
        raise RemoteProtocolError("undeclared production after simple value not supported")
    return value


def _emit(w: BitWriter, g: Grammar, st: State, fi: int, value: Any) -> State:
    try:
        code, nxt = st.enc[fi]
    except KeyError:
        f = g.fields[fi]
        raise LocalProtocolError(
            f"{g.cls.__name__}.{f.attr} ({f.local}) is not allowed here: a required field before it is "
            "missing, or it conflicts with another choice"
        ) from None
    w.write(code, st.nbits)
    f = g.fields[fi]
    if f.child is not None:
        if type(value) is not f.child.cls:
            raise LocalProtocolError(f"{g.cls.__name__}.{f.attr} takes {f.child.cls.__name__}, got {value!r}")
        _encode_complex(w, f.child, value)
    elif f.kind == "e":
        assert f.value is not None
        _encode_simple_element(w, f.value, value)
    else:
        assert f.value is not None
        if f.kind == "c" and (value == "" or value == b""):
            # empty simple content travels as an undeclared EE whose second-level code
            # depends on the state's attributes; not needed by ISO 15118 (only
            # xmldsig SignatureValue has simple content), so not supported
            raise LocalProtocolError(f"{g.cls.__name__}.{f.attr}: empty simple content is not supported")
        f.value.encode(w, value)
    return nxt


def _encode_complex(w: BitWriter, g: Grammar, obj: Any) -> None:
    st = g.start
    for fi, f in enumerate(g.fields):
        value = getattr(obj, f.attr)
        if value is None:
            continue
        if f.repeated:
            for item in value:
                st = _emit(w, g, st, fi, item)
        else:
            st = _emit(w, g, st, fi, value)
    end = st.enc.get(EE_KEY)
    if end is None:
        missing = [f.attr for f in g.fields if getattr(obj, f.attr) in (None, ())]
        raise LocalProtocolError(f"{g.cls.__name__} is incomplete; unset fields: {', '.join(missing)}")
    w.write(end[0], st.nbits)


def _decode_complex(r: BitReader, g: Grammar) -> Any:
    st = g.start
    values: dict[str, Any] = {}
    fields = g.fields
    while True:
        code = r.read(st.nbits)
        if code >= st.n:
            raise RemoteProtocolError(f"undeclared (second-level) event in {g.cls.__name__} not supported")
        kind, fi, nxt = st.dec[code]
        if kind == EE:
            break
        f = fields[fi]
        if kind == SE:
            if f.child is not None:
                value = _decode_complex(r, f.child)
            else:
                assert f.value is not None
                value = _decode_simple_element(r, f.value)
        elif kind == AT or kind == CH:
            assert f.value is not None
            value = f.value.decode(r)
        else:
            raise RemoteProtocolError(f"wildcard or mixed content in {g.cls.__name__} not supported")
        if f.repeated:
            values.setdefault(f.attr, []).append(value)
        else:
            values[f.attr] = value
        st = nxt
    for f in fields:
        if f.repeated and f.attr in values:
            values[f.attr] = tuple(values[f.attr])
    return g.cls(**values)
