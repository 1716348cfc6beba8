"""LogFlux's hot path (workers/logflux_hot.py, hotpath/src/{logflux,decrypt,plaintext}.rs) against the reference
(decode + ``workers.logflux.normalize_logflux``): a record the hot path maps gives exactly the reference's table,
and the reference stores every one of its entries; a record with an entry that fails (no cached key, a tag that
verifies under no secret, a plaintext the tables cannot hold) is declined, so the reference dead-letters that
entry alone. Bodies are fixtures and Hypothesis-drawn entries: plaintexts that are objects (nesting, escapes,
repeated keys, body field variants), plain text and bytes that are not UTF-8; fields spelled every way."""

from __future__ import annotations

import base64
import json
import os

import pyarrow as pa
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, given, settings, strategies as st

from schemas.dialects import decode
from schemas.envelope import Envelope, to_headers
from schemas.formats import Format, InvalidBody
from sluice import metrics
from tests.unit.test_hot_path import KEYS, jstring, jvalue, render, timestamp
from workers import logflux_hot
from schemas.rows.columnar import to_table
from workers.decrypt import Decryptor, KeyCache, derive
from workers.logflux import normalize_logflux
from workers.records import Context, hot_outcomes, rows_of

SALT, SALT2, COLD = bytes(range(32)), bytes(range(1, 33)), bytes(range(2, 34))  # COLD: never derived
NEW, OLD = b"new-secret", b"old-secret"
IV = bytes(range(12))
BATCH, SINGLE = Format.LOGFLUX_BATCH, Format.LOGFLUX_SINGLE
ENV = Envelope(BATCH.value, "acme", "req-1", 1_795_429_321_123_456_789, "staging")
ENV2 = Envelope(BATCH.value, "beta", "req-2", -5, "production")
EXAMPLES = int(os.environ.get("SLUICE_HOT_PATH_EXAMPLES", "60"))


def _derive(secret: bytes, salt: bytes) -> bytes:
    return derive(secret, salt, iterations=1000)  # real PBKDF2 is tested with the vectors (test_logflux.py)


def decryptor(secrets=((2, NEW), (1, OLD)), warm=((2, NEW), (1, OLD))) -> Decryptor:
    """A decryptor whose cache holds the keys of ``warm`` secrets for SALT and SALT2 (never for COLD)."""
    cache = KeyCache(100, _derive)
    for version, secret in warm:
        for salt in (SALT, SALT2):
            cache.cipher("acme", version, secret, salt)
            cache.cipher("beta", version, secret, salt)
    return Decryptor(lambda tenant: list(secrets), cache)


def seal(plaintext: bytes, secret: bytes = NEW, salt: bytes = SALT, iv: bytes = IV) -> str:
    return base64.b64encode(AESGCM(_derive(secret, salt)).encrypt(iv, plaintext, None)).decode()


def entry(plaintext: bytes = b'{"message":"m"}', secret: bytes = NEW, salt: bytes = SALT, **fields) -> dict:
    return {"node": "web-1", "loglevel": 7, "timestamp": "2026-01-02T03:04:05Z", "encryption_mode": 1,
            "iv": base64.b64encode(IV).decode(), "salt": base64.b64encode(salt).decode(),
            "payload": seal(plaintext, secret, salt), **fields}


def batch(*entries) -> bytes:
    return json.dumps({"entries": list(entries)}).encode()


def reference(fmt: Format, body: bytes, env: Envelope, dec: Decryptor):
    """(table, failures) of decode + the reference mapping; (None, None) when decode refuses the body."""
    try:
        entries = decode(fmt, body)
    except InvalidBody:
        return None, None
    rows, failures = normalize_logflux(entries, env, dec)
    return to_table([rows]), failures


def differs(fmt: Format, bodies: list[bytes], envs: list[Envelope], dec: Decryptor) -> str | None:
    """Why the hot path disagrees with the reference on ``bodies`` mapped in one call, or None. The hot path
    runs first: the reference derives keys it lacks, which would warm the cache."""
    out = logflux_hot.map_values(fmt, bodies, envs, dec)
    assert {i for i, _ in out.declined} == {i for i, r in enumerate(out.rows) if r is None}
    for index, (body, env, rows) in enumerate(zip(bodies, envs, out.rows)):
        want, failures = reference(fmt, body, env, dec)
        if rows is None:
            continue  # declined: the reference judges it
        if want is None:
            return f"body {index}: mapped by the hot path, refused by the reference"
        if failures:
            return f"body {index}: mapped whole by the hot path, the reference fails entries {failures}"
        got = rows.table.slice(rows.start, rows.length)
        if not got.equals(want):
            for name in want.column_names:
                if not got.column(name).equals(want.column(name)):
                    return (f"body {index}: column {name}: hot {got.column(name).to_pylist()[:3]} "
                            f"reference {want.column(name).to_pylist()[:3]}")
            return f"body {index}: tables differ"
    return None


def mapped(fmt: Format, body: bytes, dec: Decryptor | None = None) -> bool:
    return logflux_hot.map_values(fmt, [body], [ENV], dec or decryptor()).rows[0] is not None


PLAINTEXTS = [
    b'{"message":"Payment failed","order":"ORD-1","cents":1999}',
    b'{"msg":"m","user":{"id":7,"roles":["a","b"]},"ok":true,"none":null,"ms":12.5}',
    b'{"event":"login","msg":5}', b'{"message":5,"msg":"second","event":"third"}',
    b'{"message":null,"event":"e"}', b'{"a":1}', b"{}", b'{ "message" : "spaced" } \n',
    b'{"message":"a\\"b\\\\c\\n\\u00e9 \\ud83d\\ude00","k\\n":"\\u0000"}',
    b'{"a":1,"b":2,"a":{"x":3}}', b'{"a.b":1,"a":{"b":2}}', b'{"message":"m","message":5,"msg":"x"}',
    b'{"message":5,"message":"last"}', b'{"f":[1.0,1e16,-0.0,5e-324],"i":123456789012345678901234567890}',
    "caf\u00e9 \U0001f600 plain text".encode(), b"plain \xff\xfe text \xed\xa0\x80 \xf0\x80\x80", b"",
    b" {\"message\":\"leading space: text\"}", b"[1,2]", b"{not json", b'{"a":1} trailing', b'{"a":01}',
    b'{"message":"\xff"}', b'{"a":' + b"[" * 40 + b"]" * 40 + b"}", b'{"a":1e999}',
    json.dumps({f"k{i}": i for i in range(1000)}).encode(), json.dumps({f"k{i}": i for i in range(1001)}).encode(),
    json.dumps({"message": "m", **{f"k{i}": i for i in range(1000)}}).encode(),
]


@pytest.mark.parametrize("plaintext", PLAINTEXTS, ids=[p[:24].decode(errors="replace") for p in PLAINTEXTS])
def test_plaintexts_map_as_the_reference_does(plaintext):
    dec = decryptor()
    assert differs(BATCH, [batch(entry(plaintext), entry(b"second"))], [ENV], dec) is None
    assert differs(SINGLE, [json.dumps(entry(plaintext)).encode()], [ENV], dec) is None


def test_ordinary_records_take_the_hot_path():
    """What SDKs send every day is mapped in Rust: the declines are the odd cases."""
    dec = decryptor()
    repeated_body = b'{"message":5,"message":"last"}'  # the body's member repeated: left to the reference
    for plaintext in [p for p in PLAINTEXTS[:17] if p != repeated_body]:
        assert mapped(BATCH, batch(entry(plaintext), entry(b"x", salt=SALT2, loglevel=1, node="n\u00e9"))), plaintext
    assert mapped(SINGLE, json.dumps(entry()).encode())
    assert mapped(BATCH, batch())


SPELLINGS = [
    ("timestamps", [entry(timestamp=t) for t in ["2026-01-02T03:04:05.1Z", "2026-01-02T03:04:05.123456+01:30",
                                                  "1969-12-31T23:59:59.5Z", "1900-01-01T00:00:00Z", "1900-01-01T01:00:00+01:00",
                                                  "2262-04-11T23:47:16.854775Z", "2026-01-02T03:04:05-00:00"]]),
    ("levels and nodes", [entry(loglevel=n, node=node) for n, node in zip(range(1, 9), ["a", "x" * 255, "\u00e9" * 255,
                                                                                          "\U0001f600", " ", "n", "n", "n"])]),
    ("unknown members", [{**entry(), "extra": [1, {"a": None}], "z": "\u00e9"}]),
]


@pytest.mark.parametrize("name,entries", SPELLINGS, ids=[name for name, _ in SPELLINGS])
def test_field_spellings_map_as_the_reference_does(name, entries):
    dec = decryptor()
    body = batch(*entries)
    assert differs(BATCH, [body], [ENV], dec) is None
    assert mapped(BATCH, body, dec)


REFUSED = [  # decode refuses these: the hot path must decline them too
    {"loglevel": 0}, {"loglevel": 9}, {"loglevel": "7"}, {"loglevel": 7.0}, {"encryption_mode": 2},
    {"timestamp": "2026-01-02T03:04:05"}, {"timestamp": "yesterday"}, {"timestamp": "1899-12-31T23:59:59Z"},
    {"timestamp": "2262-04-11T23:47:16.854776Z"}, {"timestamp": "2025-02-29T00:00:00Z"},
    {"iv": base64.b64encode(bytes(16)).decode()}, {"salt": base64.b64encode(bytes(31)).decode()},
    {"iv": "not base64!"}, {"payload": base64.b64encode(bytes(15)).decode()}, {"node": ""}, {"node": "x" * 256},
]


@pytest.mark.parametrize("change", REFUSED, ids=[str(c)[:40] for c in REFUSED])
def test_what_decode_refuses_is_declined(change):
    body = batch(entry(), {**entry(), **change})
    assert reference(BATCH, body, ENV, decryptor())[0] is None
    assert not mapped(BATCH, body)


@pytest.mark.parametrize("raw", [
    b'{"entries":[]} x', b'{"entries":null}', b'{}', b'{"entries":[],"entries":[]}', b"[]", b"",
    b'{"entries":[' + json.dumps(entry()).encode()[:-1] + b',"node":"again"}]}',
])
def test_malformed_records_are_declined(raw):
    assert not mapped(BATCH, raw)


def test_entries_that_fail_decline_their_record_and_the_reference_fails_them_alone():
    dec = decryptor()
    good = entry(b'{"message":"ok"}')
    tampered = {**entry(), "payload": seal(b"x", secret=b"wrong")}
    too_many = entry(json.dumps({f"k{i}": i for i in range(1001)}).encode())
    too_deep = entry(b'{"a":' + b'{"k":' * 40 + b"1" + b"}" * 40 + b"}")
    for bad, reason in [(tampered, "decrypt_failed"), (too_many, "too_many_attributes"), (too_deep, "nested_too_deeply")]:
        body = batch(good, bad, good)
        assert not mapped(BATCH, body, dec)
        table, failures = reference(BATCH, body, ENV, dec)
        assert table.num_rows == 2 and [(f.index, f.reason) for f in failures] == [(1, reason)]
    assert differs(BATCH, [batch(good), batch(good, tampered), batch(good)], [ENV, ENV2, ENV2], dec) is None


def test_only_cached_keys_are_used_and_none_is_derived():
    cold = batch(entry(), entry(salt=COLD))
    dec = decryptor()
    before = len(dec.cache)
    out = logflux_hot.map_values(BATCH, [cold], [ENV], dec)
    assert out.rows == [None] and "not cached" in out.declined[0][1] and len(dec.cache) == before
    # no secret at all: declined, and the reference dead-letters every entry as no_encryption_secret
    none = decryptor(secrets=())
    assert not mapped(BATCH, batch(entry()), none)
    assert {f.reason for f in reference(BATCH, batch(entry()), ENV, none)[1]} == {"no_encryption_secret"}


def test_rotated_secrets_are_tried_newest_first_as_far_as_cached():
    body = batch(entry(secret=NEW), entry(b'{"message":"older"}', secret=OLD))
    both = decryptor()
    assert mapped(BATCH, body, both) and differs(BATCH, [body], [ENV], both) is None
    only_new = decryptor(warm=((2, NEW),))
    assert not mapped(BATCH, body, only_new)  # the old key is not cached: the reference derives it
    assert reference(BATCH, body, ENV, only_new)[1] == []


def test_the_worker_maps_logflux_records_on_the_hot_path_and_counts_declines():
    dec = decryptor()
    context = Context(decryptor=dec)
    values = [batch(entry(), entry(salt=SALT2)), batch(entry(), {**entry(), "payload": seal(b"x", b"wrong")}),
              json.dumps(entry()).encode()]
    envs = [ENV, ENV2, Envelope(SINGLE.value, "acme", "req-3", 7)]
    records = [(v, to_headers(e), None) for v, e in zip(values, envs)]
    declined = metrics.WORKER_HOT_DECLINED.labels("logflux")
    before = declined._value.get()
    out = hot_outcomes(records, context)
    assert out[1] is None and out[0] is not None and out[2] is not None
    assert declined._value.get() - before == 1
    for value, headers, ts in records:  # the reference stores the same rows
        ref = rows_of(value, headers, ts, context)
        fast = hot_outcomes([(value, headers, ts)], context)[0]
        if fast is not None:
            assert ref.rejected == [] and fast.rows.table.slice(fast.rows.start, len(fast.rows)).equals(to_table([ref.rows]))
        else:
            assert [why.reason for _, why in ref.rejected] == ["decrypt_failed"]
    assert hot_outcomes(records, Context()) == [None] * 3  # no master key: the reference refuses them all


# --- Hypothesis ----------------------------------------------------------------------------------------------

BODY_KEYS = st.one_of(st.sampled_from(["message", "msg", "event"]), KEYS)


@st.composite
def plaintext(draw) -> bytes:
    kind = draw(st.sampled_from(["object", "object", "object", "object", "text", "bytes", "broken"]))
    if kind == "text":
        return draw(st.text(max_size=30)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=30))
    members = []
    for key in draw(st.lists(BODY_KEYS, max_size=6)):
        body_string = key in ("message", "msg", "event") and draw(st.booleans())
        members.append((key, draw(jstring()) if body_string else draw(jvalue(6))))
    text = draw(render(("obj", members))).encode("utf-8", errors="surrogatepass")
    if kind == "broken":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from([b"\xff", b"", b"}", b",", b'"', b" x", b"\x00"])) + text[at:]
    return text


def _b64(draw, data: bytes) -> str:
    text = base64.b64encode(data).decode()
    odd = draw(st.integers(0, 30))
    if odd == 30:
        return text.rstrip("=")
    if odd == 29:
        return text.replace("/", "\\/")
    return text


@st.composite
def entry_text(draw) -> str:
    salt = draw(st.sampled_from([SALT, SALT, SALT2, COLD]) if draw(st.integers(0, 10)) == 10 else st.just(SALT))
    secret = draw(st.sampled_from([NEW, NEW, NEW, OLD, b"wrong"]))
    payload = base64.b64decode(seal(draw(plaintext()), secret, salt))
    if draw(st.integers(0, 40)) == 40:
        payload = payload[:-1] + bytes([payload[-1] ^ 1])
    fields = {
        "node": draw(jstring(draw(st.one_of(st.just("web-1"), st.text(max_size=8), st.just("x" * 256))))),
        "loglevel": draw(st.one_of(st.integers(1, 8).map(str), st.sampled_from(["0", "9", "7.0", "07", "-1", '"7"', "1e0"]))),
        "timestamp": draw(jstring(draw(st.one_of(st.just("2026-01-02T03:04:05Z"), timestamp())))),
        "encryption_mode": draw(st.sampled_from(["1", "1", "1", "2", "1.0"])),
        "iv": json.dumps(_b64(draw, IV if draw(st.integers(0, 40)) < 40 else IV[:11])).replace("\\\\/", "\\/"),
        "salt": json.dumps(_b64(draw, salt)).replace("\\\\/", "\\/"),
        "payload": json.dumps(_b64(draw, payload)).replace("\\\\/", "\\/"),
    }
    items = list(fields.items())
    if draw(st.integers(0, 20)) == 20:
        items.pop(draw(st.integers(0, len(items) - 1)))
    if draw(st.integers(0, 5)) == 5:
        name = draw(st.sampled_from(["extra", "node", "loglevel"]))
        items.append((name, fields.get(name) or draw(render(draw(jvalue(3))))))
    items = draw(st.permutations(items))
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in items) + "}"


@st.composite
def record(draw, fmt: Format) -> bytes:
    if fmt is SINGLE:
        return draw(entry_text()).encode("utf-8", errors="surrogatepass")
    entries = draw(st.lists(entry_text(), max_size=4))
    return ('{"entries":[' + ",".join(entries) + "]}").encode("utf-8", errors="surrogatepass")


@pytest.mark.parametrize("fmt", [BATCH, SINGLE], ids=[BATCH.value, SINGLE.value])
def test_drawn_records_map_as_the_reference_does(fmt):
    dec = decryptor()
    seen = {"stored whole": 0, "mapped": 0}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(record(fmt), min_size=1, max_size=3))
    def run(bodies):
        envs = [ENV if i % 2 == 0 else ENV2 for i in range(len(bodies))]
        assert differs(fmt, bodies, envs, dec) is None
        out = logflux_hot.map_values(fmt, bodies, envs, dec)
        for body, env, rows in zip(bodies, envs, out.rows):
            table, failures = reference(fmt, body, env, dec)
            if table is not None and not failures:
                seen["stored whole"] += 1
                seen["mapped"] += rows is not None

    run()
    # Most records the reference stores whole must be mapped, or the comparison would hold vacuously.
    assert seen["stored whole"] >= EXAMPLES // 4 and seen["mapped"] >= 0.5 * seen["stored whole"], seen


def test_a_zero_row_table_is_still_a_logs_table():
    out = logflux_hot.map_values(BATCH, [batch()], [ENV], decryptor())
    rows = out.rows[0]
    assert len(rows) == 0 and isinstance(rows.table, pa.Table) and rows.table.num_rows == 0
