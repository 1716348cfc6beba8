"""The slow lane: LogFlux records whose tenant is over its budget of key derivations.

A derivation costs a tenth of a second of CPU, so a client sending a fresh
salt with every entry could otherwise starve every other tenant. Each tenant
gets ``kdf_budget_per_s`` new derivations per second (bursts up to
``kdf_budget_burst``); a record that needs more is not decrypted but moved,
unchanged, to the slow-lane topic. A second agent works that topic with at
most ``slow_lane_kdf_per_s`` derivations per second for the whole worker:
delayed, never dropped.

Replays stay exact: the moved offsets are recorded with the batch's intent,
so a replay moves the same records again, and the moved copy carries
``sluice-replay-of`` with its origin, so it is stored once however often it
is moved.
"""

from __future__ import annotations


from schemas.deadletter import REPLAY_OF
from sluice import metrics
from sluice.settings import Settings
from workers.consumed import Consumed
from workers.forward import Forwarder


class SlowLane:
    def __init__(self, settings: Settings):
        self.topic = settings.slow_topic
        self._forwarder = Forwarder(settings)

    async def send(self, record: Consumed, tenant: str, topic_key: str = "") -> None:
        """Move a consumed record to the slow-lane topic, naming where it came from: under ``topic_key``
        (``name@<topic id>``, workers/topic_keys.py) when given, so a record of a topic created again under
        the same name never shares its origin, and its insert token, with one of the old topic."""
        origin = record.replay_of or f"{topic_key or record.topic}:{record.partition}:{record.offset}"
        headers = [(k, v) for k, v in record.headers if k != REPLAY_OF] + [(REPLAY_OF, origin.encode())]
        await self._forwarder.send(self.topic, record.value, record.key, headers)
        metrics.WORKER_SLOW_LANE.labels(tenant, "diverted").inc()

    async def stop(self) -> None:
        await self._forwarder.stop()
