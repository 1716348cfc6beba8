"""Deterministic batch boundaries, so a replay after a crash inserts nothing twice.

Each batch is a run of consecutive records of one partition, identified by
its offset range; ClickHouse drops an insert whose deduplication token
(``topic:partition:first-last``) it has seen recently. For that to catch a
replay, the replay must rebuild exactly the same ranges, although Kafka may
redeliver the records in different chunks. So before inserting a new batch
the sink records its range (an *intent*, in ``ingest_batches``); when a
partition starts or jumps, the planner loads the intents at or after the
position and regroups the replayed records along them. Records past the last
intent are batched freely.

Once a batch's records are stored (and its dead letters and moved records sent),
its range is marked *stored* (``stored_batches``): a replay rebuilds the range
with ``stored`` set and is acknowledged without inserting, so a replay long
after ClickHouse's deduplication window forgot the token stores nothing twice.
Each partition is planned under this worker's claim on it (workers/claims.py),
which its batches carry to the insert, where an old owner is fenced.

All of that bookkeeping, and the token, names the topic by its *key*,
``name@<Kafka topic id>`` (sluice/kafka/topic_ids.py): a topic deleted and
created again under the same name starts its offsets at 0 again, and its records
must not be taken for replays of the old topic's. The key comes with the
intents (``Intents``), so a partition's batches carry the key of the
incarnation whose intents they were planned over.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Union

if TYPE_CHECKING:  # types only: the planner counts rows and never looks inside them
    from workers.claims import Claim
    from schemas.rows.columnar import ArrowRows, LogColumns
    from schemas.rows.declared_http import HttpRows
    from workers.consumed import Consumed
    from workers.deadletter import DeadLetter
    from workers.hot import HotRows

#: One record's rows: a slice of the hot path's table (the JSON dialects, workers/hot.py), columns (OTLP,
#: Logstash, LogFlux and what the hot path declined), Arrow (``sluice.arrow.v1``), Arrow for ``http_logs``
#: (Profound), or an empty list when nothing of the record is stored.
Rows = Union["HotRows", "LogColumns", "ArrowRows", "HttpRows", "list"]

TopicPartition = tuple[str, int]


class Intent(NamedTuple):
    first: int
    last: int
    diverted: tuple[int, ...] = ()  # offsets sent to the slow lane, not stored
    stored: bool = False  # the range's rows are in ClickHouse and its side effects done
    group: str = ""  # the token of the group insert the range's rows went in with (workers/groups.py)


class Intents(list):
    """The recorded intents of one partition of one incarnation of its topic, and the key that
    incarnation's bookkeeping is written under (``name@<topic id>``). A plain list is keyed by the
    topic's name."""

    def __init__(self, intents=(), key: str = ""):
        super().__init__(intents)
        self.key = key


class Pending(NamedTuple):
    offset: int
    rows: Rows  # only their number matters here
    handle: object  # what the consumer needs to acknowledge the record
    dead: tuple[DeadLetter, ...] = ()  # what of the record cannot be stored
    replay_of: str | None = None  # "topic:partition:offset" of the record this one re-publishes
    divert: Consumed | None = None  # the consumed record, when it goes to the slow lane instead
    idempotency: str = ""  # "tenant/Idempotency-Key" when the client sent one


@dataclass
class Batch:
    topic: str
    partition: int
    first: int
    last: int
    items: list[Pending]
    replay: bool  # True when rebuilt over a recorded intent
    part_of: str = ""  # the token of the batch this is a part of, when the sink split it
    stored: bool = False  # rebuilt over a range marked stored: acknowledge it, store nothing
    claim: Claim | None = None  # the claim it was planned under; None: this worker is the only writer
    key: str = ""  # the topic's bookkeeping key, "name@<topic id>" (``Intents``); empty: the name
    group: str = ""  # the token of the group insert planned for its rows with other partitions' (workers/groups.py)

    @property
    def bookkeeping(self) -> str:
        """The name of the topic in intents, stored marks, claims, idempotency keys and the token."""
        return self.key or self.topic

    @property
    def token(self) -> str:
        if self.part_of:
            return f"{self.part_of}/{self.first}-{self.last}"
        # A batch planned into a group insert is stored alone only when that insert did not land (or
        # was refused): under a token of its own, named after the group so it differs from the group's.
        if self.group:
            return f"{self.group}/{self.partition}:{self.first}-{self.last}"
        # A dead letter re-published by `sluice dlq replay` stands alone and is
        # named after its original position, so replaying it twice stores it once.
        if len(self.items) == 1 and self.items[0].replay_of:
            return f"replay:{self.items[0].replay_of}"
        return f"{self.bookkeeping}:{self.partition}:{self.first}-{self.last}"

    def part(self, items: list[Pending]) -> "Batch":
        """A part of this batch, named after it (the sink splits a batch ClickHouse refused)."""
        return Batch(self.topic, self.partition, items[0].offset, items[-1].offset, items, self.replay,
                     self.token, claim=self.claim, key=self.key, group=self.group)

    @property
    def row_count(self) -> int:
        return sum(len(item.rows) for item in self.items)

    @property
    def handles(self) -> list[object]:
        return [item.handle for item in self.items]

    @property
    def diverted(self) -> list[int]:
        return [item.offset for item in self.items if item.divert is not None]


@dataclass
class _Partition:
    next_offset: int
    intents: deque[Intent]
    held: list[Pending] = field(default_factory=list)
    diverted: frozenset[int] = frozenset()
    claim: Claim | None = None
    key: str = ""


class BatchPlanner:
    """Groups records into batches per partition. Pure: the caller loads intents."""

    def __init__(self, max_rows: int):
        self.max_rows = max_rows
        self._partitions: dict[TopicPartition, _Partition] = {}

    def needs_intents(self, tp: TopicPartition, offset: int) -> bool:
        """True when ``offset`` does not continue where this partition left off."""
        state = self._partitions.get(tp)
        return state is None or state.next_offset != offset

    def load(self, tp: TopicPartition, offset: int, intents: list[Intent], claim: Claim | None = None) -> None:
        """Restart ``tp`` at ``offset`` with the recorded intents that reach it, under ``claim``
        (recorded before the intents were read); its batches carry the intents' key (``Intents``)."""
        relevant = sorted(i for i in intents if i.last >= offset)
        diverted = frozenset(o for i in relevant for o in i.diverted if o >= offset)
        self._partitions[tp] = _Partition(offset, deque(relevant), diverted=diverted, claim=claim,
                                          key=getattr(intents, "key", ""))

    def diverted(self, tp: TopicPartition) -> frozenset[int]:
        """Offsets of ``tp`` that a recorded intent sent to the slow lane: a replay must too."""
        state = self._partitions.get(tp)
        return state.diverted if state else frozenset()

    def forget(self, tps: list[TopicPartition]) -> None:
        """Drop partitions this consumer no longer owns; their records will be redelivered."""
        for tp in tps:
            self._partitions.pop(tp, None)

    def plan(self, tp: TopicPartition, items: list[Pending]) -> list[Batch]:
        """Batches that are complete once ``items`` (consecutive, ascending) are added.

        Records inside an intent whose last record has not arrived yet are held
        back until it does.
        """
        state = self._partitions.get(tp)
        if state is None:  # revoked while the chunk was being prepared: its new owner re-reads it
            return []
        topic, partition = tp
        out: list[Batch] = []
        fresh: list[Pending] = []
        for item in items:
            while state.intents and item.offset > state.intents[0].last:
                # The intent's last record is gone (retention): close what arrived.
                self._close_intent(state, topic, partition, out)
            if state.intents and item.offset >= state.intents[0].first:
                self._flush(fresh, state, topic, partition, out)
                state.held.append(item)
                if item.offset == state.intents[0].last:
                    self._close_intent(state, topic, partition, out)
            else:
                fresh.append(item)
            state.next_offset = item.offset + 1
        self._flush(fresh, state, topic, partition, out)
        return out

    def _close_intent(self, state: _Partition, topic: str, partition: int, out: list[Batch]) -> None:
        intent = state.intents.popleft()
        if state.held:
            out.append(Batch(topic, partition, intent.first, intent.last, state.held, replay=True,
                             stored=intent.stored, claim=state.claim, key=state.key, group=intent.group))
        state.held = []

    def _flush(self, fresh: list[Pending], state: _Partition, topic: str, partition: int,
               out: list[Batch]) -> None:
        """Cut ``fresh`` into batches of at most ``max_rows`` rows (a bigger record, or a
        re-published dead letter, stands alone)."""
        current: list[Pending] = []
        rows = 0
        for item in fresh:
            if current and (rows + len(item.rows) > self.max_rows or item.replay_of or current[-1].replay_of):
                out.append(Batch(topic, partition, current[0].offset, current[-1].offset, current, replay=False,
                                 claim=state.claim, key=state.key))
                current, rows = [], 0
            current.append(item)
            rows += len(item.rows)
        if current:
            out.append(Batch(topic, partition, current[0].offset, current[-1].offset, current, replay=False,
                             claim=state.claim, key=state.key))
        fresh.clear()
