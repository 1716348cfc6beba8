"""One HTTP POST with the standard library; a network failure is a status of None."""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from typing import Mapping, NamedTuple, Optional


class Response(NamedTuple):
    status: Optional[int]  # None: no answer (refused, reset, timed out)
    headers: Mapping[str, str]
    body: bytes


def compress(body: bytes, compression: Optional[str]) -> tuple[bytes, dict[str, str]]:
    if compression == "gzip":
        return gzip.compress(body, compresslevel=5), {"Content-Encoding": "gzip"}
    if compression == "zstd":
        import zstandard  # the `zstd` extra

        return zstandard.ZstdCompressor(level=3).compress(body), {"Content-Encoding": "zstd"}
    return body, {}


def post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> Response:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            return Response(resp.status, dict(resp.headers), resp.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, dict(exc.headers or {}), exc.read() or b"")
    except (OSError, ValueError):
        return Response(None, {}, b"")
