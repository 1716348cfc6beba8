"""Accepted means storable, end to end: Hypothesis draws requests of every dialect with values at and
beyond every bound of the contract (schemas/storable.py) and sends them through the real gateway, the
Logstash listener and the native topic, to the broker, the worker and the engine.

Afterwards every entry that was accepted (answered 2xx, read by the listener and not dropped there as
unstorable, acknowledged by Kafka) is stored or dead-lettered with a reason, nothing answered 4xx was
stored, and a second tenant, posting well-formed records all along, has every one of them stored: one
tenant's values never stall another's.

``SLUICE_STORABLE_FUZZ_SECONDS`` sets how long to draw: a few seconds in ``make test``, ten minutes in
``make fuzz``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
import uuid
from collections import Counter

import pytest
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from schemas.deadletter import REASON, SOURCE_ENTRY
from sluice import registry as registry_topic
from sluice import secrets
from sluice.keys import new_key
from tests.integration.conftest import provision
from tests.integration.test_native import consume_all
from tests.integration.test_storable_bounds import arrow
from tests.support import metric, post, sql, wait_for
from workers.decrypt import derive
from workers.quarantine import REASON as QUARANTINED

pytestmark = pytest.mark.integration

SECONDS = float(os.environ.get("SLUICE_STORABLE_FUZZ_SECONDS", "8"))
SECRET, SALT = "fuzz-secret", bytes(range(32))

# --- values at and beyond the bounds -------------------------------------------

BOUND_TIMES = ["1900-01-01T00:00:00Z", "1899-12-31T23:59:59.999999Z", "2262-04-11T23:47:16.854775Z",
               "2262-04-11T23:47:16.854776Z", "9999-12-31T00:00:00Z", "0001-01-01T00:00:00+01:00",
               "1900-01-01T00:30:00+01:00", "2026-01-01T00:00:00Z", "2026-01-01 00:00:00", "", "not a time"]
times = st.one_of(st.sampled_from(BOUND_TIMES), st.datetimes(timezones=st.just(__import__("datetime").timezone.utc))
                  .map(lambda d: d.isoformat()))
BOUND_INTS = [0, -1, 1, 24, 25, 255, 256, 599, 600, 65_535, 65_536, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63)]
integers = st.one_of(st.sampled_from(BOUND_INTS), st.integers())
addresses = st.one_of(st.sampled_from(["1.2.3.4", "fe80::1%eth0", "2001:db8:1:2::3a", "::", "::ffff:0:1.2.3.4",
                                       "999.1.1.1", "", "1.2.3.4%eth0"]), st.ip_addresses().map(str))
text = st.one_of(st.just(""), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
scalars = st.one_of(text, integers, st.booleans(), st.none(), st.floats(allow_nan=False, allow_infinity=False))


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


attributes = st.one_of(
    st.sampled_from([0, 1, 999, 1000, 1001]).map(lambda n: {f"k{i}": i for i in range(n)}),
    st.sampled_from([31, 32, 33]).map(nested),
    st.dictionaries(text, st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                         st.dictionaries(text, inner, max_size=3)),
                                       max_leaves=10), max_size=5),
)


@st.composite
def json_entry(draw, marker: str) -> dict:
    """One entry of the plain JSON dialects: any of their fields, bounded or not."""
    entry = {"timestamp": draw(times), "level": draw(st.sampled_from(["INFO", "Error", "warn", ""])),
             "message": marker, "service": draw(text)}
    for field in draw(st.sets(st.sampled_from(["metadata", "attributes", "properties", "exception"]))):
        entry[field] = draw(text) if field == "exception" else draw(attributes)
    return entry


def kvs(values: dict) -> list[dict]:
    return [{"key": k, "value": {"stringValue": str(v)} if not isinstance(v, dict)
             else {"kvlistValue": {"values": kvs(v)}}} for k, v in values.items()]


@st.composite
def otlp_record(draw, marker: str) -> dict:
    return {"timeUnixNano": str(draw(integers)), "observedTimeUnixNano": str(draw(integers)),
            "severityNumber": draw(st.sampled_from([0, 9, 24, 255, 256, 300, -1])), "body": {"stringValue": marker},
            "attributes": kvs(draw(attributes))}


@st.composite
def profound_entry(draw, marker: str) -> dict:
    return {"timestamp": draw(st.one_of(st.just(time.time()), st.sampled_from(BOUND_TIMES), integers)),
            "method": "GET", "host": "example.com", "path": "/" + marker, "status_code": draw(integers),
            "ip": draw(addresses), "user_agent": draw(text), "query_params": draw(attributes),
            "bytes_sent": draw(st.one_of(st.none(), integers))}


# --- sending -------------------------------------------------------------------

class Run:
    """What was sent, and how many entries of each request the pipeline now owes."""

    def __init__(self, sluice, keys: dict[str, str]):
        self.sluice, self.keys, self.n = sluice, keys, 0
        self.owed: dict[str, int] = {}  # request id -> entries accepted
        self.refused: list[str] = []  # request ids answered 4xx
        self.answered: dict[str, str] = {}  # request id -> dialect, of the requests a gateway answered 2xx
        self.cipher = AESGCM(derive(SECRET.encode(), SALT))

    def marker(self) -> str:
        self.n += 1
        return f"m{self.n}"

    def http(self, path: str, body, headers: dict[str, str], entries: int) -> None:
        status, answer, got = post(self.sluice.url(path), body, headers)
        rid = got.get("x-request-id", "")
        if 200 <= status < 300:
            if path == "/v1/logs/custom":  # partial acceptance: "Processing N log entries"
                entries = int(answer["message"].split()[1])
            if entries:
                self.owed[rid] = entries
                self.answered[rid] = path
        elif 400 <= status < 500:
            self.refused.append(rid)
        else:
            assert status in (500, 503), (path, status, answer)  # overloaded (the route's outage status): nothing owed

    def logflux(self, entries: list[dict]) -> list[dict]:
        out = []
        for e in entries:
            iv = os.urandom(12)
            plaintext = json.dumps({"message": e["message"], **(e.get("attributes") or {})}).encode()
            out.append({"node": "n", "loglevel": 7, "timestamp": e["timestamp"], "encryption_mode": 1,
                        "iv": base64.b64encode(iv).decode(), "salt": base64.b64encode(SALT).decode(),
                        "payload": base64.b64encode(self.cipher.encrypt(iv, plaintext, None)).decode()})
        return out

    def native(self, value: bytes, fmt: str, entries: int) -> None:
        rid = f"native-{uuid.uuid4().hex[:12]}"
        headers = [("sluice-format", fmt.encode()), ("sluice-tenant", b"acme"), ("sluice-request-id", rid.encode())]

        async def go():
            producer = AIOKafkaProducer(bootstrap_servers=self.sluice.settings.kafka_bootstrap, acks="all")
            await producer.start()
            try:
                await producer.send_and_wait(self.sluice.settings.native_topic, value, headers=headers)
            finally:
                await producer.stop()

        asyncio.run(go())
        self.owed[rid] = entries


@st.composite
def requests(draw, run: Run) -> tuple[str, object, int]:
    """(dialect, what to send, entries in it): a request of a dialect drawn at random."""
    dialect = draw(st.sampled_from(["astralog", "logtrace", "loginformant", "loginformant1", "logflux", "otlp",
                                    "profound", "native", "arrow", "logstash"]))
    n = 1 if dialect == "loginformant1" else draw(st.integers(1, 4))
    entries = [draw(json_entry(run.marker())) for _ in range(n)]
    if dialect == "astralog":
        return dialect, {"logs": [{**e, "project_id": "p"} for e in entries]}, n
    if dialect == "logtrace":
        return dialect, {"logs": entries}, n
    if dialect == "loginformant":
        return dialect, {"logs": [{**e, "level": "Error"} for e in entries]}, n
    if dialect == "loginformant1":
        return dialect, {**entries[0], "level": "Error"}, 1
    if dialect == "logflux":
        return dialect, entries, n
    if dialect == "otlp":
        records = [draw(otlp_record(run.marker())) for _ in range(n)]
        return dialect, {"resourceLogs": [{"resource": {"attributes": kvs(draw(attributes))},
                                           "scopeLogs": [{"logRecords": records}]}]}, n
    if dialect == "profound":
        return dialect, [draw(profound_entry(run.marker())) for _ in range(n)], n
    if dialect == "native":
        return dialect, {"records": [
            {"body": e["message"], "timestamp": e["timestamp"] or None, "attributes": e.get("attributes", {}),
             "trace_flags": draw(integers), "severity_number": draw(st.sampled_from([None, 0, 24, 25]))}
            for e in entries]}, n
    if dialect == "arrow":
        return dialect, None, 2
    return dialect, [{"@timestamp": e["timestamp"], "message": e["message"], **(e.get("attributes") or {})}
                     for e in entries], n


def send(run: Run, dialect: str, body, n: int) -> None:
    """Send one drawn request, and a well-formed one of the other tenant alongside."""
    bearer = {"Authorization": f"Bearer {run.keys['acme']}", "Content-Type": "application/json"}
    api_key = {"X-API-Key": run.keys["acme"], "Content-Type": "application/json"}
    paths = {"astralog": "/v1/drain", "logtrace": "/v1/logs/ingest", "loginformant": "/api/ingest/batch",
             "loginformant1": "/api/ingest", "otlp": "/v1/logs", "profound": "/v1/logs/custom"}
    if dialect == "astralog":
        run.http(paths[dialect], body, {**bearer, "Authorization": run.keys["acme"]}, n)
    elif dialect in ("logtrace", "otlp"):
        run.http(paths[dialect], body, bearer, n)
    elif dialect in ("loginformant", "loginformant1", "profound"):
        run.http(paths[dialect], body, api_key, n)
    elif dialect == "logflux":
        lf = {"Authorization": f"Bearer {run.keys['logflux']}", "Content-Type": "application/json"}
        run.http("/v1/batch", {"entries": run.logflux(body)}, lf, n)
    elif dialect == "native":
        run.native(json.dumps(body).encode(), "sluice.batch.v1", n)
    elif dialect == "arrow":
        run.native(arrow(), "sluice.arrow.v1", n)
    else:
        lines = b"".join(json.dumps({**e, "sluice_token": run.keys["acme"]}).encode() + b"\n" for e in body)
        with socket.create_connection((run.sluice.settings.logstash_host, run.sluice.settings.logstash_tcp_port),
                                      timeout=10) as conn:
            conn.sendall(lines)
        run.owed["logstash"] = run.owed.get("logstash", 0) + n
    steady = {"Authorization": f"Bearer {run.keys['beta']}", "Content-Type": "application/json"}
    status, answer, got = post(run.sluice.url("/v1/logs/ingest"), {"logs": [
        {"timestamp": "2026-01-01T00:00:00Z", "level": "INFO", "message": "steady"}] * 5}, steady)
    assert status == 202, answer
    run.owed["beta:" + got["x-request-id"]] = 5


def accounted(run: Run) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Entries stored per request id (Logstash's under "logstash", the steady tenant's as "beta:<id>"),
    and the (request id, reason) of every dead letter, one per entry it stands for."""
    s = run.sluice.settings
    stored: Counter = Counter()
    for tenant, source, rid, count in sql(s, "SELECT TenantId, Source, RequestId, count() FROM "
                                             "(SELECT TenantId, Source, RequestId FROM sluice.logs WHERE TenantId != '' UNION ALL "
                                             "SELECT TenantId, 'profound', RequestId FROM sluice.http_logs) "
                                             "GROUP BY TenantId, Source, RequestId"):
        key = "logstash" if source == "logstash" else ("beta:" if tenant == "beta" else "") + rid
        stored[key] += count
    letters = []
    for record in consume_all(s.kafka_bootstrap, s.dlq_topic, expected=10**9, timeout_s=2):
        headers = {k: v.decode() for k, v in record.headers}
        rid = headers.get("sluice-request-id", "")
        if headers.get("sluice-format") == "logstash.lines.v1":
            rid = "logstash"
        elif headers.get("sluice-tenant") == "beta":
            rid = "beta:" + rid
        whole = SOURCE_ENTRY not in headers
        entries = run.owed.get(rid, 0) if whole and rid != "logstash" else 1
        if rid == "logstash" and whole:
            entries = len(json.loads(record.value))
        letters += [(rid, headers[REASON])] * entries
    return stored, letters


def test_every_accepted_entry_is_stored_or_dead_lettered_and_the_other_tenant_is_never_stalled(broker, make_sluice):
    # Quotas off: ten minutes of drawing outruns a tier's requests per hour, and quotas are not the subject here.
    sluice = make_sluice(broker.config.bootstrap, rate_limits=False)
    s = sluice.settings
    keys = {"acme": sluice.key, "beta": provision(s, "beta")}
    logflux_key, record = new_key("acme", prefix="lf_")
    asyncio.run(registry_topic.publish(s, record))
    asyncio.run(secrets.add(s, "acme", SECRET.encode()))
    keys["logflux"] = logflux_key
    steady = {"Authorization": f"Bearer {keys['beta']}", "Content-Type": "application/json"}
    wait_for(lambda: post(sluice.url("/v1/logs/ingest"), {"logs": []}, steady)[0] == 400, 30, what="beta's key")
    run = Run(sluice, keys)
    wait_for(lambda: post(sluice.url("/v1/batch"), {"entries": run.logflux([
        {"message": "warm-up", "timestamp": "2026-01-01T00:00:00Z"}])}, {
        "Authorization": f"Bearer {logflux_key}", "Content-Type": "application/json"})[0] == 200, 30,
        what="the LogFlux key")

    @settings(max_examples=25, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def batch(data):
        send(run, *data.draw(requests(run)))

    deadline = time.monotonic() + SECONDS
    while True:  # Hypothesis has no time budget: rounds of examples until the time is up
        batch()
        if time.monotonic() >= deadline:
            break

    unsettled: dict[str, tuple[int, int, int, int]] = {}

    def settled():
        stored, letters = accounted(run)
        dead = Counter(rid for rid, _ in letters)
        unsettled.clear()
        # The listener answers nothing per event: what the tables cannot hold it drops and counts.
        dropped = Counter(logstash=int(metric(s.gateway_url, 'sluice_listener_events_total'
                                                               '{outcome="unstorable",transport="tcp"}')))
        unsettled.update({rid: (n, stored[rid], dead[rid], dropped[rid]) for rid, n in run.owed.items()
                          if stored[rid] + dead[rid] + dropped[rid] != n})
        return (stored, letters) if not unsettled else None

    try:
        stored, letters = wait_for(settled, 180, interval_s=1, what="every accepted entry stored or dead-lettered")
    except AssertionError:  # name what is missing: request id -> (accepted, stored, dead-lettered, dropped)
        raise AssertionError(f"unaccounted entries: {dict(list(unsettled.items())[:20])}") from None
    assert all(reason for _, reason in letters)
    # Nothing the engine refused, nothing a normalizer choked on: what was accepted could be stored.
    assert not [letter for letter in letters if letter[1] in ("insert_refused", "normalize_failed")], letters
    # What a gateway answered 2xx is dead-lettered only for what no gateway can see (LogFlux's encrypted
    # payloads), or because its tenant was quarantined for the dead letters of records no gateway checked.
    unseen = {"decrypt_failed", "no_encryption_secret", "too_many_attributes", "nested_too_deeply"}
    assert not [(run.answered[rid], reason) for rid, reason in letters if rid in run.answered
                and reason != QUARANTINED and not (run.answered[rid] == "/v1/batch" and reason in unseen)]
    assert not [rid for rid, _ in letters if rid.startswith("beta:")]  # the steady tenant lost nothing
    assert not [rid for rid in run.refused if stored[rid]]  # what was refused was not stored
    print(f"\nstorable fuzz: {run.n} entries in {len(run.owed)} requests, {sum(stored.values())} rows stored, "
          f"{len(letters)} entries dead-lettered ({dict(Counter(reason for _, reason in letters))}), "
          f"{len(run.refused)} requests refused")
