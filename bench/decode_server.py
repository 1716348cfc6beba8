"""The HTTP ceiling: the gateway's own app and server, with the Kafka publish replaced by nothing.

    python -m bench.decode_server   (settings from SLUICE_*; keys as JSON lines on stdin)

Authentication, size bounds, decompression, msgspec decoding and the answer
are the gateway's code; only the wait for Kafka's acknowledgement is gone.
What the real gateway reaches against this, in the same run, is the cost of
202-after-ack.
"""

from __future__ import annotations

import sys

import uvicorn

from gateway.app import Gateway
from gateway.http_protocol import bounded_protocol
from schemas.envelope import Envelope
from schemas import registry as records
from sluice.keys import Registry
from sluice.settings import load_settings


class NullPublisher:
    async def publish(self, body: bytes, envelope: Envelope, topic: str | None = None) -> None:
        return None


def main() -> None:
    settings = load_settings()
    registry = Registry()
    for line in sys.stdin.buffer:
        registry.apply(records.decode(line.strip()))
    app = Gateway(settings, registry, NullPublisher())  # type: ignore[arg-type]
    uvicorn.run(app, host=settings.gateway_host, port=settings.gateway_port, loop="uvloop", lifespan="on",
                http=bounded_protocol(settings.max_header_bytes, settings.header_timeout_s), access_log=False,
                log_level="warning")


if __name__ == "__main__":
    main()
