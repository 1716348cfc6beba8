"""Partition claims: a worker that lost a partition stores nothing of it afterwards.

Exactly-once rests on every owner of a partition cutting its records into the
same batches (workers/batches.py). A paused or slow old owner can plan a batch
before its partition moves and record its intent and insert it afterwards, once
the new owner has loaded the intents without it and cut the same records
differently: two tokens, the records stored twice. Claims fence that old owner.

The contract, writes before reads on both sides:

* **new owner**: record a claim of the partition (``partition_claims``), *then*
  load its intents;
* **every owner, per batch**: record the batch's intent, *then* check that no
  other owner claimed the partition after its own claim (``fenced``), *then*
  insert. A fenced batch is dropped unacknowledged; its owner forgets the
  partition, whose new owner reads the records again from the committed offset.
  The batches of one chunk record their intents in one insert and are checked in
  one query (``newer_owners``) before the first of them inserts; a retry checks
  its batch again alone.

So either the new owner's load saw the old owner's intent (the same range, the
same token: ClickHouse or the stored ranges drop the second copy), or the old
owner's check saw the new claim and stored nothing. Either way holds whatever
order claims are put in, as long as it is one total order: it decides only who
gives way. The remaining window is between a passed check and its insert: a
pause there longer than the deduplication window is worth is not fenced.

**Why a random owner id and the worker's clock, not the consumer generation.**
Faust does not expose the group generation (only aiokafka's private coordinator
holds it, on the consumer's own thread), and a generation starts again at 1
when the group is deleted and recreated, which would leave every new owner
behind the old claims for good. A claim is a random id per assignment and the
time the assignment arrived (``time_ns`` on the worker, strictly increasing in
the process); claims are ordered by that time, then the id. A new claim is
written just after the partition's newest one when this worker's clock is
behind the clock that wrote it (``record``), so a skewed clock never leaves a
new owner behind an old claim.

A claim is recorded lazily, once per assignment, when the partition's first
records need its intents: the assignment callback stays free of ClickHouse
(an outage must not stall the group's rebalance), and the order above holds
because the claim is written before that load.

In ``partition_claims`` (``record``, ``newer_owners``) a partition's topic is its
bookkeeping key, ``name@<Kafka topic id>``, as in the intents the claim guards
(workers/batches.py): the sink (workers/sink.py) writes and checks claims under
the key it loads the partition's intents with. ``Claims`` itself, the worker's
own state, is keyed by topic name, as the consumer names partitions.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from typing import NamedTuple

from clickhouse_connect.driver.client import Client

TopicPartition = tuple[str, int]


class Fenced(Exception):
    """Another owner claimed the batch's partition after this worker did: the batch must not be stored."""


class Claim(NamedTuple):
    owner: str  # random per assignment, prefixed with host and pid for whoever reads the table
    at_ns: int  # when the assignment arrived, worker clock, strictly increasing per process


class Claims:
    """This worker's claims on the partitions it was assigned. Plain state (and the lock its
    writers hold): the caller writes them."""

    def __init__(self) -> None:
        # The lanes share one Claims: whichever lane needs a claim first records all unrecorded
        # ones, under this lock, so no two lanes write the same claim.
        self.recording = asyncio.Lock()
        self._held: dict[TopicPartition, Claim] = {}
        self._unrecorded: set[TopicPartition] = set()
        self._last_ns = 0
        self._prefix = f"{socket.gethostname()}/{os.getpid()}"

    def assigned(self, tps: list[TopicPartition]) -> None:
        """A new assignment: a new claim on each of ``tps`` (recorded when first needed)."""
        now = max(time.time_ns(), self._last_ns + 1)
        self._last_ns = now
        owner = f"{self._prefix}/{uuid.uuid4().hex[:12]}"
        for tp in tps:
            self._held[tp] = Claim(owner, now)
            self._unrecorded.add(tp)

    def release(self, tps: list[TopicPartition]) -> None:
        """Revoked, or fenced: records of ``tps`` are not this worker's to store until assigned again."""
        for tp in tps:
            self._held.pop(tp, None)
            self._unrecorded.discard(tp)

    def fenced(self, tp: TopicPartition, claim: Claim) -> None:
        """A batch planned under ``claim`` was fenced: release ``tp`` unless it was assigned here
        again since (a newer claim of this worker's own, under which its records are read again)."""
        if self._held.get(tp) == claim:
            self.release([tp])

    def held(self, tp: TopicPartition) -> Claim | None:
        return self._held.get(tp)

    def unrecorded(self) -> list[tuple[TopicPartition, Claim]]:
        """Held claims not recorded in ClickHouse yet, in one list so one insert records them all."""
        return [(tp, self._held[tp]) for tp in sorted(self._unrecorded)]

    def recorded(self, claims: list[tuple[TopicPartition, Claim]]) -> None:
        """``claims`` as ``record`` wrote them (a claim's time may have moved past an older one's)."""
        for tp, claim in claims:
            held = self._held.get(tp)
            if held is not None and held.owner == claim.owner:
                self._held[tp] = claim
                self._unrecorded.discard(tp)
                self._last_ns = max(self._last_ns, claim.at_ns)


def record(client: Client, db: str, claims: list[tuple[TopicPartition, Claim]], settings: dict,
           read_settings: dict | None = None) -> list[tuple[TopicPartition, Claim]]:
    """Write ``claims`` to ``partition_claims`` (one insert); the claims as written.

    A new claim must be the newest of its partition, or its owner would be fenced by the
    previous one for good (no rebalance comes to end it): when this worker's clock is behind
    the one that wrote the newest claim, the claim is written just after that one instead."""
    if not claims:
        return []
    newest = {(t, int(p)): int(ns) for t, p, ns in client.query(
        f"SELECT Topic, Partition, max(ClaimedNs) FROM {db}.partition_claims "
        "WHERE (Topic, Partition) IN {tps:Array(Tuple(String, UInt32))} GROUP BY Topic, Partition",
        parameters={"tps": [tp for tp, _ in claims]}, settings=read_settings or {}).result_rows}
    written = [(tp, claim if newest.get(tp, -1) < claim.at_ns else claim._replace(at_ns=newest[tp] + 1))
               for tp, claim in claims]
    client.insert(f"{db}.partition_claims",
                  [[topic, partition, claim.owner, claim.at_ns] for (topic, partition), claim in written],
                  column_names=["Topic", "Partition", "Owner", "ClaimedNs"], settings=settings)
    return written


def newer_owner(client: Client, db: str, tp: TopicPartition, claim: Claim, settings: dict) -> str | None:
    """The owner of the newest claim of ``tp`` recorded after ``claim`` by another owner, or None.

    "None after mine" rather than "the newest is mine": claims expire, oldest first, so a
    long-held partition whose claim the TTL dropped is still its owner's. A later claim of the
    same owner is the same assignment written again (``record`` moved it past a copy of itself):
    it never fences its own batches, which nobody would re-read."""
    return newer_owners(client, db, [(tp, claim)], settings).get(tp)


def newer_owners(client: Client, db: str, held: list[tuple[TopicPartition, Claim]],
                 settings: dict) -> dict[TopicPartition, str]:
    """``newer_owner`` for several partitions in one query: {partition: newer owner} for the fenced ones."""
    if not held:
        return {}
    claims_of = {tp: claim for tp, claim in held}
    rows = client.query(
        f"SELECT Topic, Partition, Owner, ClaimedNs FROM {db}.partition_claims "
        "WHERE (Topic, Partition) IN {tps:Array(Tuple(String, UInt32))} AND ClaimedNs >= {n:UInt64}",
        parameters={"tps": list(claims_of), "n": min(claim.at_ns for claim in claims_of.values())},
        settings=settings,
    ).result_rows
    newest: dict[TopicPartition, tuple[int, str]] = {}
    for topic, partition, owner, at_ns in rows:
        tp, later = (topic, int(partition)), (int(at_ns), owner)
        mine = claims_of[tp]
        if owner != mine.owner and later > (mine.at_ns, mine.owner) and later > newest.get(tp, (-1, "")):
            newest[tp] = later
    return {tp: owner for tp, (_, owner) in newest.items()}
