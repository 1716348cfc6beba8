import gzip
import json
import tracemalloc
import zlib

import pytest
import zstandard

from gateway import encoding
from gateway.errors import ApiError
from tests.unit.test_gateway import TRACE, setup  # noqa: F401  (fixture)

BODY = json.dumps(TRACE).encode()


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-15)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize("coding, packed", [
    (b"gzip", gzip.compress(BODY)),
    (b"x-gzip", gzip.compress(BODY)),
    (b"deflate", zlib.compress(BODY)),
    (b"deflate", raw_deflate(BODY)),
    (b"zstd", zstandard.ZstdCompressor().compress(BODY)),
    (b"ZSTD", zstandard.ZstdCompressor().compress(BODY)),
    (b"identity", BODY),
    (b"", BODY),
])
def test_every_coding_round_trips(coding, packed):
    assert encoding.decode(coding, packed, 10_000) == BODY


@pytest.mark.parametrize("coding, packed", [
    (b"gzip", b"not gzip at all"),
    (b"gzip", gzip.compress(BODY)[:-12]),  # truncated
    (b"zstd", b"\x28\xb5\x2f\xfd garbage"),
    (b"deflate", b"\x00\x01\x02"),
])
def test_corrupt_bodies_are_400(coding, packed):
    with pytest.raises(ApiError) as info:
        encoding.decode(coding, packed, 10_000)
    assert (info.value.status, info.value.code) == (400, "corrupt_body")


@pytest.mark.parametrize("coding", [b"gzip", b"zstd", b"deflate"])
def test_limit_holds_at_the_boundary(coding):
    data = b"x" * 5000
    packed = {b"gzip": gzip.compress, b"zstd": zstandard.ZstdCompressor().compress, b"deflate": zlib.compress}[coding](data)
    assert encoding.decode(coding, packed, 5000) == data
    with pytest.raises(ApiError) as info:
        encoding.decode(coding, packed, 4999)
    assert (info.value.status, info.value.code) == (413, "decoded_body_too_large")


def test_unknown_coding_is_415():
    with pytest.raises(ApiError) as info:
        encoding.decode(b"br", b"x", 10)
    assert info.value.status == 415


def gzip_bomb(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    parts = [packer.compress(zeros) for _ in range(size >> 20)]
    return b"".join(parts) + packer.flush()


async def test_a_gigabyte_gzip_bomb_is_413_in_bounded_memory(setup):  # noqa: F811
    client, key, publisher = setup
    bomb = gzip_bomb(1 << 30)
    assert len(bomb) < 2 << 20
    client._transport.app.settings = client._transport.app.settings.replace(max_body_bytes=4 << 20)
    tracemalloc.start()
    r = await client.post("/v1/logs/ingest", content=bomb, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json", "Content-Encoding": "gzip"})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (r.status_code, r.json()["error"]["code"]) == (413, "decoded_body_too_large")
    assert peak < 64 << 20, f"peak {peak >> 20} MiB"
    assert publisher.published == []


async def test_compressed_requests_are_published_decoded(setup):  # noqa: F811
    client, key, publisher = setup
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for coding, pack in (("gzip", gzip.compress), ("zstd", zstandard.ZstdCompressor().compress)):
        r = await client.post("/v1/logs/ingest", content=pack(BODY), headers={**headers, "Content-Encoding": coding})
        assert r.status_code == 202
    assert [body for body, _ in publisher.published] == [BODY, BODY]
