"""SML transport protocol version 1 (SML 1.04 clause 8 "SML-Transport").

A file is framed as::

    1b1b1b1b 01010101 | messages, padded with 0x00 to a multiple of 4 | 1b1b1b1b 1a PP CC CC

where PP is the number of padding bytes and CC CC the CRC16 X.25 over everything from
the first escape up to PP (least significant byte first). An escape sequence inside the
data is sent twice. `SmlStreamDecoder` is
a sans-I/O reader for a byte stream (a serial line, a TCP socket): bytes in, files out,
resynchronising on the next start sequence after garbage or a broken file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from .crc import crc16_wire
from .errors import RemoteProtocolError
from .messages import Message, decode_message, encode_message

ESCAPE: Final = b"\x1b\x1b\x1b\x1b"
START: Final = ESCAPE + b"\x01\x01\x01\x01"
END_MARK: Final = 0x1A
MAX_FILE_BYTES: Final = 64 * 1024  # a meter file is a few hundred bytes; cap what we buffer


@dataclass(frozen=True, slots=True, kw_only=True)
class SmlFile:
    """The messages of one transport file, in order."""

    messages: tuple[Message, ...]


def _escape(data: bytes) -> bytes:
    """Double every escape sequence in the data, scanning left to right.

    Like libsml, sml-rs and pysml we look for the sequence at any byte offset, not only at
    4-byte boundaries; a file without 1b1b1b1b in its data is the same bytes either way.
    """
    out = bytearray()
    pos = 0
    while (hit := data.find(ESCAPE, pos)) >= 0:
        out += data[pos:hit] + ESCAPE + ESCAPE
        pos = hit + 4
    return bytes(out + data[pos:])


def encode_file(messages: Iterable[Message]) -> bytes:
    """Frame `messages` as one SML transport v1 file."""
    data = b"".join(encode_message(message) for message in messages)
    padding = -len(data) % 4
    framed = START + _escape(data + b"\x00" * padding) + ESCAPE + bytes((END_MARK, padding))
    return framed + crc16_wire(framed)


def decode_payload(payload: bytes) -> SmlFile:
    """Decode the unescaped, unpadded message bytes of a file."""
    messages = []
    pos = 0
    while pos < len(payload):
        message, pos = decode_message(payload, pos)
        messages.append(message)
    if not messages:
        raise RemoteProtocolError("SML file without messages")
    return SmlFile(messages=tuple(messages))


def _unframe(frame: bytes) -> bytes:
    """Check the end block and CRC of one complete frame, return its payload."""
    end = frame[-4:]
    padding = end[1]
    if padding > 3:
        raise RemoteProtocolError("SML padding count above 3")
    if crc16_wire(frame[:-2]) != end[2:]:
        raise RemoteProtocolError("SML file CRC16 mismatch")
    payload = frame[len(START) : -8].replace(ESCAPE + ESCAPE, ESCAPE)
    if padding and payload[-padding:] != b"\x00" * padding:
        raise RemoteProtocolError("SML padding bytes are not zero")
    return payload[: len(payload) - padding]


def decode_file(data: bytes) -> SmlFile:
    """Decode exactly one framed file; anything but a valid file raises `RemoteProtocolError`."""
    decoder = SmlStreamDecoder()
    decoder.receive_bytes(data)
    files = list(decoder.files())
    if len(files) != 1 or decoder.pending_bytes:
        raise RemoteProtocolError("expected exactly one complete SML file")
    return files[0]


class SmlStreamDecoder:
    """Incremental reader: `receive_bytes()` then iterate `files()`.

    A broken file (bad CRC, undecodable message) is reported by `files()` raising
    `RemoteProtocolError` once; the decoder then continues with the bytes after it, so a
    meter that sends one bad telegram does not stop the stream.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._ready: deque[SmlFile | RemoteProtocolError] = deque()

    @property
    def pending_bytes(self) -> int:
        return len(self._buffer)

    def receive_bytes(self, data: bytes) -> None:
        self._buffer += data
        while self._step():
            pass

    def files(self) -> Iterator[SmlFile]:
        while self._ready:
            item = self._ready.popleft()
            if isinstance(item, RemoteProtocolError):
                raise item
            yield item

    def _step(self) -> bool:
        """Consume one file or garbage from the buffer; False when more bytes are needed."""
        start = self._buffer.find(START)
        if start < 0:
            # keep a tail that may be the beginning of a start sequence
            del self._buffer[: max(0, len(self._buffer) - len(START) + 1)]
            return False
        del self._buffer[:start]
        pos = len(START)
        while True:
            hit = self._buffer.find(ESCAPE, pos)
            if hit < 0 or len(self._buffer) < hit + 8:
                if len(self._buffer) > MAX_FILE_BYTES:
                    del self._buffer[: len(START)]
                    self._ready.append(RemoteProtocolError("SML file too long"))
                    return True
                return False
            follow = bytes(self._buffer[hit + 4 : hit + 8])
            if follow == ESCAPE:
                pos = hit + 8
            elif follow == START[4:]:  # restart: the previous file was cut off
                del self._buffer[:hit]
                self._ready.append(RemoteProtocolError("SML file interrupted by a new start"))
                return True
            elif follow[0] == END_MARK:
                frame = bytes(self._buffer[: hit + 8])
                del self._buffer[: hit + 8]
                try:
                    self._ready.append(decode_payload(_unframe(frame)))
                except RemoteProtocolError as error:
                    self._ready.append(error)
                return True
            else:
                del self._buffer[: len(START)]
                self._ready.append(RemoteProtocolError("unknown SML escape sequence"))
                return True
