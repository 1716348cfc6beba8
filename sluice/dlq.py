"""Reading and replaying the dead-letter topic (``sluice dlq list`` / ``sluice dlq replay``).

Replay re-publishes a dead letter to its source topic with its original key,
value and headers plus ``sluice-replay-of``, then writes a marker record into
the dead-letter topic so later runs skip it. Should a run die between the two,
the worker still stores the record once: a re-published record is inserted
under a deduplication token named after its original position.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from sluice.kafka.clients import partitions_of, producer
from sluice.settings import Settings
from schemas import deadletter as dl


@dataclass
class Letter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str:
        return dict(self.headers).get(name, b"").decode(errors="replace")

    @property
    def reason(self) -> str:
        return self.header(dl.REASON)

    @property
    def origin(self) -> str:
        """Where the letter's content was first read: "topic:partition:offset", plus
        "#entry" for one entry of a batch record, so each entry replays under its own name."""
        where = ":".join(self.header(h) for h in (dl.SOURCE_TOPIC, dl.SOURCE_PARTITION, dl.SOURCE_OFFSET))
        entry = self.header(dl.SOURCE_ENTRY)
        return f"{where}#{entry}" if entry else where

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"


@dataclass
class Snapshot:
    letters: list[Letter] = field(default_factory=list)  # not yet replayed
    replayed: set[str] = field(default_factory=set)  # positions with a marker


async def read(settings: Settings) -> Snapshot:
    """Everything in the dead-letter topic up to now, markers applied."""
    snap = Snapshot()
    tps = [TopicPartition(settings.dlq_topic, p) for p in await partitions_of(settings, settings.dlq_topic)]
    if not tps:
        return snap
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                client_id="sluice-dlq")
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            for tp, messages in (await consumer.getmany(*pending, timeout_ms=1000)).items():
                for m in messages:
                    headers = list(m.headers or ())
                    marker = dict(headers).get(dl.REPLAYED)
                    if marker is not None:
                        snap.replayed.add(marker.decode())
                    else:
                        snap.letters.append(Letter(m.partition, m.offset, m.key, m.value, headers))
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    finally:
        await consumer.stop()
    # A worker that restarts between dead-lettering and committing sends the
    # letter again: keep one letter per source record and value.
    seen: set[tuple[str, int]] = set()
    unique = []
    for x in snap.letters:
        origin = (x.origin, hash(x.value))
        if origin not in seen and x.position not in snap.replayed:
            seen.add(origin)
            unique.append(x)
    snap.letters = unique
    return snap


def summary(snap: Snapshot, samples: int = 3) -> str:
    counts = Counter(x.reason for x in snap.letters)
    lines = [f"{len(snap.letters)} dead letters waiting, {len(snap.replayed)} replayed"]
    for reason, n in counts.most_common():
        lines.append(f"{reason}\t{n}")
        for x in [x for x in snap.letters if x.reason == reason][:samples]:
            source = f"{x.header(dl.SOURCE_TOPIC)}/{x.header(dl.SOURCE_PARTITION)}@{x.header(dl.SOURCE_OFFSET)}"
            value = (x.value or b"")[:120].decode(errors="replace")
            lines.append(f"  {source}  {x.header(dl.TIME)}  {x.header(dl.DETAIL)}\n    {value!r}")
    return "\n".join(lines)


async def replay(settings: Settings, reason: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> int:
    """Re-publish waiting dead letters (of ``reason``, or all); return how many."""
    snap = await read(settings)
    chosen = [x for x in snap.letters if reason is None or x.reason == reason]
    p = producer(settings)
    await p.start()
    try:
        for done, letter in enumerate(chosen, 1):
            headers = [(k, v) for k, v in letter.headers if k not in dl.DLQ_HEADERS and k != dl.REPLAY_OF]
            headers.append((dl.REPLAY_OF, letter.origin.encode()))
            await p.send_and_wait(letter.header(dl.SOURCE_TOPIC), letter.value, key=letter.key, headers=headers)
            # Kafka takes no record without a key and a value: the gateway's records have no key.
            marker = None if letter.key is not None else b""
            await p.send_and_wait(settings.dlq_topic, marker, key=letter.key, partition=letter.partition,
                                  headers=[(dl.REPLAYED, letter.position.encode())])
            if progress:
                progress(done, len(chosen))
    finally:
        await p.stop()
    return len(chosen)


def progress_bar(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    print(f"\rreplaying [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end="", file=sys.stderr)
    if done == total:
        print(file=sys.stderr)
