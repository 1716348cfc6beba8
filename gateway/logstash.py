"""Logstash-compatible listeners: newline-delimited JSON over TCP, one JSON event per UDP datagram.

Authentication: each event's ``sluice_token`` field (an API key, removed
before publishing), or a listener bound to one tenant (``logstash_tenant``).
Events are published per tenant, ``logstash_batch_events`` at a time or
after ``logstash_batch_wait_s``.

Bounds on TCP: at most ``logstash_max_connections`` connections per process
(one more is closed at once); a connection that completes no line for
``logstash_idle_timeout_s`` is closed; and until a connection has sent one
event with a good token it may buffer only one line of
``logstash_unauthenticated_bytes`` (a longer one closes it), after that
``logstash_max_line_bytes`` (a longer line is skipped). Each closing is
counted in ``sluice_listener_connections_closed_total{reason}``.

TLS on TCP: with ``logstash_tls_cert`` (and ``logstash_tls_key``), else the
gateway's ``tls_cert_file`` pair, the TCP listener speaks only TLS, and the
certificate is reloaded when its files change (gateway/tls.py).

Delivery, honestly: TCP has no acknowledgements in this protocol. The reader
stops reading while Kafka is slow or down (the client's socket buffer fills
and its writes block), so nothing is dropped while the connection lives, but
events in flight when a connection breaks can be lost. UDP drops what does
not fit in the queue, and counts it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

from gateway.errors import ApiError
from gateway.lines import Idle, LineReader, LineTooLong
from gateway.publisher import Publisher
from gateway.tls import ReloadingContext
from schemas.dialects.logstash import wire as ls
from schemas.dialects.logstash.columns import EVENT
from schemas.envelope import Envelope
from schemas.formats import Format
from schemas.registry import WRITE
from sluice import metrics
from sluice.keys import Registry
from sluice.settings import Settings

log = logging.getLogger(__name__)
# A connection that sent this many events without one good token is closed.
MAX_BAD_BEFORE_CLOSE = 100
# What the socket's reader buffers ahead of the line reader (twice this before it pauses the socket).
_STREAM_LIMIT = 64 * 1024


class Batches:
    """Buffers of encoded events per (tenant, environment); ``flush`` publishes and waits for Kafka."""

    def __init__(self, settings: Settings, publisher: Publisher, transport: str):
        self.settings, self.publisher, self.transport = settings, publisher, transport
        self.events: dict[tuple[str, str], list[bytes]] = {}
        self.since = time.monotonic()

    def add(self, owner: tuple[str, str], event: bytes) -> bool:
        """Buffer an event; True when a buffer is full."""
        if not self.events:
            self.since = time.monotonic()
        bucket = self.events.setdefault(owner, [])
        bucket.append(event)
        return len(bucket) >= self.settings.logstash_batch_events

    def due_in(self) -> float | None:
        if not self.events:
            return None
        return max(0.0, self.settings.logstash_batch_wait_s - (time.monotonic() - self.since))

    async def flush(self, retry: bool) -> None:
        """Publish every buffer. With ``retry`` (TCP), wait out a Kafka outage instead of dropping."""
        events, self.events = self.events, {}
        for (tenant, environment), items in events.items():
            value = b"[" + b",".join(items) + b"]"
            while True:
                envelope = Envelope(Format.LOGSTASH_LINES.value, tenant, "ls_" + secrets.token_hex(12), time.time_ns(),
                                    environment)
                try:
                    await self.publisher.publish(value, envelope)
                    metrics.LISTENER_EVENTS.labels(self.transport, "accepted").inc(len(items))
                    break
                except ApiError:
                    if not retry:
                        metrics.LISTENER_EVENTS.labels(self.transport, "dropped").inc(len(items))
                        break
                    await asyncio.sleep(self.settings.retry_after_s)


def accept(line: bytes, registry: Registry, settings: Settings,
           transport: str) -> tuple[tuple[str, str], bytes] | None:
    """((tenant, environment), event to publish) for a good event; None (counted) otherwise.

    A token must be a key with the write:logs scope (of the listener's
    environment when ``gateway_environment`` is set)."""
    try:
        event: dict[str, Any] = ls.parse_event(line)
    except ls.BadEvent:
        metrics.LISTENER_EVENTS.labels(transport, "bad_json").inc()
        return None
    token = event.pop(ls.TOKEN_FIELD, None)
    if isinstance(token, str) and token:
        record = registry.authenticate(token)
        if record is not None and WRITE in record.scopes and settings.gateway_environment in ("", record.environment):
            owner = (record.tenant, record.environment)
        else:
            owner = None
    else:
        owner = (settings.logstash_tenant, settings.gateway_environment or "production") \
            if settings.logstash_tenant else None
    if owner is None:
        metrics.LISTENER_EVENTS.labels(transport, "bad_token").inc()
        return None
    # The protocol answers nothing per event: an event the tables cannot hold is
    # dropped and counted here, so it never takes its batch's other events along.
    if EVENT.unstorable(EVENT.split(event)) is not None:
        metrics.LISTENER_EVENTS.labels(transport, "unstorable").inc()
        return None
    return owner, ls.encode(event)


class Listeners:
    def __init__(self, settings: Settings, registry: Registry, publisher: Publisher):
        self.settings, self.registry, self.publisher = settings, registry, publisher
        self._servers: list[Any] = []
        self._udp_task: asyncio.Task | None = None
        self._watch: asyncio.Task | None = None  # the TLS certificate watch
        self._open = 0  # TCP connections being served

    async def start(self) -> None:
        s = self.settings
        shared = s.gateway_processes > 1  # replicas on one machine share the ports
        if s.logstash_tcp_port:
            tls = self._tls()
            server = await asyncio.start_server(self._connection, s.logstash_host, s.logstash_tcp_port,
                                                limit=_STREAM_LIMIT, ssl=tls.context if tls else None,
                                                # a handshake is bounded like an HTTP request's head
                                                ssl_handshake_timeout=s.header_timeout_s if tls else None,
                                                reuse_port=shared)
            if tls is not None:
                self._watch = asyncio.create_task(tls.watch())
            self._servers.append(server)
        if s.logstash_udp_port:
            queue: asyncio.Queue = asyncio.Queue(maxsize=10_000)
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: _Udp(queue), local_addr=(s.logstash_host, s.logstash_udp_port), reuse_port=shared)
            self._servers.append(transport)
            self._udp_task = asyncio.create_task(self._drain_udp(queue))

    def _tls(self) -> ReloadingContext | None:
        """The TCP listener's own pair, else the gateway's, else None (plain TCP). UDP has no TLS."""
        s = self.settings
        cert, key = (s.logstash_tls_cert, s.logstash_tls_key) if s.logstash_tls_cert else (s.tls_cert_file,
                                                                                        s.tls_key_file)
        return ReloadingContext("logstash", cert, key, s.tls_reload_check_s) if cert else None

    async def stop(self) -> None:
        for task in (self._udp_task, self._watch):
            if task is not None:
                task.cancel()
        for server in self._servers:
            server.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._open >= self.settings.logstash_max_connections:
            metrics.LISTENER_CONNECTIONS_CLOSED.labels("tcp", "too_many_connections").inc()
            writer.close()
            return
        self._open += 1
        metrics.LISTENER_CONNECTIONS_OPEN.inc()
        try:
            reason = await self._serve(reader)
        finally:
            self._open -= 1
            metrics.LISTENER_CONNECTIONS_OPEN.dec()
            writer.close()
        if reason is not None:
            metrics.LISTENER_CONNECTIONS_CLOSED.labels("tcp", reason).inc()

    async def _serve(self, reader: asyncio.StreamReader) -> str | None:
        """Read and publish events until the client ends the stream (None) or the listener ends it (why)."""
        s = self.settings
        bound = bool(s.logstash_tenant)  # a listener bound to one tenant takes events without a token
        lines = LineReader(reader, s.logstash_max_line_bytes if bound else s.logstash_unauthenticated_bytes,
                           s.logstash_idle_timeout_s)
        batches = Batches(s, self.publisher, "tcp")
        good = bad = 0
        try:
            while True:
                try:
                    line = await lines.next(batches.due_in())
                except asyncio.TimeoutError:
                    await batches.flush(retry=True)
                    lines.touch()  # time spent waiting on Kafka is not the client's idling
                    continue
                except Idle:
                    return "idle"
                except LineTooLong:
                    metrics.LISTENER_EVENTS.labels("tcp", "too_long").inc()
                    if not good and not bound:
                        return "unauthenticated_too_long"
                    continue
                if line is None:
                    return None
                if not line.strip():
                    continue
                accepted = accept(line, self.registry, s, "tcp")
                if accepted is None:
                    bad += 1
                    if not good and bad >= MAX_BAD_BEFORE_CLOSE:
                        log.warning("closing a logstash connection that sent only bad events")
                        return "bad_tokens"
                    continue
                if not good:
                    lines.limit = s.logstash_max_line_bytes  # a good token: full-size lines from now on
                good += 1
                if batches.add(*accepted):
                    await batches.flush(retry=True)  # reading waits: backpressure, not buffering
                    lines.touch()
        finally:
            await batches.flush(retry=True)

    async def _drain_udp(self, queue: asyncio.Queue) -> None:
        batches = Batches(self.settings, self.publisher, "udp")
        while True:
            try:
                datagram = await asyncio.wait_for(queue.get(), batches.due_in())
            except asyncio.TimeoutError:
                await batches.flush(retry=False)
                continue
            accepted = accept(datagram, self.registry, self.settings, "udp")
            if accepted and batches.add(*accepted):
                await batches.flush(retry=False)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, queue: asyncio.Queue):
        self.queue = queue

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            metrics.LISTENER_EVENTS.labels("udp", "dropped").inc()
