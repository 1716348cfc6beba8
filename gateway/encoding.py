"""HTTP content decoding with a bound on the decoded size.

Bodies are inflated in bounded steps, so a decompression bomb (a small body
that expands to gigabytes) is refused as soon as it passes the limit, having
cost at most the limit in memory.
"""

from __future__ import annotations

import io
import zlib

import zstandard

from gateway import errors
from gateway.errors import ApiError

_STEP = 256 * 1024
_zstd = zstandard.ZstdDecompressor()


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    out: list[bytes] = []
    size = 0
    data = body
    while True:
        chunk = inflater.decompress(data, _STEP)
        size += len(chunk)
        if size > limit:
            raise errors.decoded_too_large(limit)
        out.append(chunk)
        data = inflater.unconsumed_tail
        if not data:
            break
    tail = inflater.flush()
    if size + len(tail) > limit:
        raise errors.decoded_too_large(limit)
    if not inflater.eof:
        raise zlib.error("truncated stream")
    return b"".join(out) + tail


def _unzstd(body: bytes, limit: int) -> bytes:
    with _zstd.stream_reader(io.BytesIO(body), read_across_frames=True) as reader:
        out = reader.read(limit + 1)
    if len(out) > limit:
        raise errors.decoded_too_large(limit)
    return out


def decode(encoding: bytes, body: bytes, limit: int) -> bytes:
    """The body with ``Content-Encoding`` undone: 415 for an unknown coding,
    400 for corrupt data, 413 once the decoded body passes ``limit`` bytes."""
    coding = encoding.strip().lower()
    try:
        if coding in (b"", b"identity"):
            return body
        if coding in (b"gzip", b"x-gzip"):
            return _inflate(body, 16 + zlib.MAX_WBITS, limit)
        if coding == b"deflate":
            # RFC 9110 says zlib-wrapped; some clients send raw deflate, so try both.
            try:
                return _inflate(body, zlib.MAX_WBITS, limit)
            except zlib.error:
                return _inflate(body, -zlib.MAX_WBITS, limit)
        if coding == b"zstd":
            return _unzstd(body, limit)
    except (zlib.error, zstandard.ZstdError) as exc:
        raise ApiError(400, "corrupt_body", f"The {coding.decode()} body could not be decoded: {exc}") from None
    raise errors.unsupported_encoding(coding.decode("latin-1"))
