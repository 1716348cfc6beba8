"""Running the gateway: wire the registry follower and the publisher into the app, serve with uvicorn."""

from __future__ import annotations

import asyncio
import socket
import sys

import uvicorn

from gateway.app import Gateway
from gateway.http_protocol import bounded_protocol
from gateway.logstash import Listeners
from gateway.publisher import Publisher
from gateway.tls import ReloadingContext, TlsError
from sluice.kafka.clients import ensure_topics
from sluice.kafka.durability import TopicDurabilityError
from sluice.registry import RegistryFollower
from sluice import shutdown as shutdown_deadline
from sluice.settings import Settings


def build(settings: Settings) -> Gateway:
    """The ASGI app; its lifespan starts and stops the Kafka clients. ``serve`` ensures the topics first."""
    follower = RegistryFollower(settings)
    publisher = Publisher(settings)
    listeners = Listeners(settings, follower.registry, publisher)

    async def startup() -> None:  # the topics were ensured before the server started (``serve``)
        await follower.start()
        await publisher.start()
        await listeners.start()

    async def shutdown() -> None:  # requests have drained (uvicorn's graceful shutdown): what is unsent was answered 503
        shutdown_deadline.arm(settings.shutdown_timeout_s, "gateway")
        await listeners.stop()
        await publisher.stop()
        await follower.stop()

    return Gateway(settings, follower.registry, publisher, on_startup=startup, on_shutdown=shutdown)


def serve(settings: Settings, app: Gateway | None = None) -> int | None:
    """Serve ``app`` (by default the real gateway, ``build(settings)``) until stopped.

    With ``tls_cert_file`` the port speaks HTTPS only, and the certificate is
    reloaded when its files change (gateway/tls.py). With ``gateway_processes``
    > 1 this process is one of that many replicas sharing the port; the caller
    starts the others.
    """
    try:  # a pair that cannot serve is a refusal to start, said plainly, not a traceback
        tls = _tls(settings)
    except TlsError as exc:
        print(f"sluice gateway: TLS: {exc}", file=sys.stderr)
        return 2
    if app is None:
        try:  # before the server, not in its lifespan, where uvicorn would print a traceback and exit 3
            asyncio.run(ensure_topics(settings))
        except TopicDurabilityError as exc:
            print(f"sluice gateway: {exc}", file=sys.stderr)
            return 2
    config = uvicorn.Config(
        app or build(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        loop="uvloop",
        http=bounded_protocol(settings.max_header_bytes, settings.header_timeout_s, settings.body_timeout_s),
        limit_concurrency=settings.gateway_max_connections,
        lifespan="on",
        access_log=False,
        log_config=None,  # sluice.logs configures logging
        timeout_graceful_shutdown=max(10, int(settings.publish_timeout_s) + 5),
        # uvicorn serves the one context it is given; gateway/tls.py reloads certificates into it.
        ssl_context_factory=(lambda _config, _default: tls.context) if tls else None,
    )
    sockets = None
    if settings.gateway_processes > 1:
        # Replicas on one machine share the port; the kernel spreads connections over them.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((settings.gateway_host, settings.gateway_port))
        sockets = [sock]
    server = uvicorn.Server(config)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(_serve(server, sockets, tls))
    return None


def _tls(settings: Settings) -> ReloadingContext | None:
    """The gateway's TLS context (None: plain HTTP), once every configured pair was found usable.
    The Logstash listener loads its own in the lifespan; a bad one is refused here, before it."""
    for cert, key, names in ((settings.tls_cert_file, settings.tls_key_file, "SLUICE_TLS_CERT_FILE"),
                             (settings.logstash_tls_cert, settings.logstash_tls_key, "SLUICE_LOGSTASH_TLS_CERT")):
        if key and not cert:
            raise TlsError(f"a key file is set but no certificate: set {names} too")
    if settings.logstash_tcp_port and settings.logstash_tls_cert:
        ReloadingContext("logstash", settings.logstash_tls_cert, settings.logstash_tls_key)
    if not settings.tls_cert_file:
        return None
    return ReloadingContext("gateway", settings.tls_cert_file, settings.tls_key_file, settings.tls_reload_check_s)


async def _serve(server: uvicorn.Server, sockets: list[socket.socket] | None, tls: ReloadingContext | None) -> None:
    # The certificate watch runs on the server's own loop, the thread that makes connections from the context.
    watch = asyncio.create_task(tls.watch()) if tls else None
    try:
        await server.serve(sockets=sockets)
    finally:
        if watch is not None:
            watch.cancel()
