"""The HTTP ceiling: the gateway's own app and server, with the Kafka publish replaced by nothing.

    python -m bench.decode_server   (settings from SLUICE_*; keys as JSON lines on stdin)

Authentication, size bounds, decompression, msgspec decoding, the answer and
the server (uvicorn, its settings, replicas sharing the port) are the gateway's; only the wait for Kafka's acknowledgement is gone.
What the real gateway reaches against this, in the same run, is the cost of
202-after-ack.
"""

from __future__ import annotations

import sys

from gateway.app import Gateway
from gateway.server import serve
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
    serve(settings, Gateway(settings, registry, NullPublisher()))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
