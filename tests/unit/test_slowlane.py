"""The slow lane names a moved record's origin (workers/slowlane.py): the insert token of its copy."""

from __future__ import annotations

from sluice.settings import load_settings
from workers.consumed import Consumed, headers_of
from workers.slowlane import SlowLane


class Sent:
    def __init__(self):
        self.records = []

    async def send(self, topic, value, key, headers):
        self.records.append((topic, value, dict(headers)))


def _lane(tmp_path) -> tuple[SlowLane, Sent]:
    lane = SlowLane(load_settings(environ={}, state_dir=tmp_path))
    lane._forwarder = sent = Sent()
    return lane, sent


def _record(headers: dict) -> Consumed:
    return Consumed("sluice-ingest", 3, 41, None, b"v", headers_of({"sluice-tenant": b"acme", **headers}), 0, "h")


async def test_the_origin_names_the_topic_by_its_key_so_a_recreated_topic_never_shares_it(tmp_path):
    lane, sent = _lane(tmp_path)
    await lane.send(_record({}), "acme", "sluice-ingest@Zx3TTq")
    await lane.send(_record({}), "acme")  # no key known: the name, as before topic ids
    assert [headers["sluice-replay-of"] for _, _, headers in sent.records] == [
        b"sluice-ingest@Zx3TTq:3:41", b"sluice-ingest:3:41"]


async def test_a_record_moved_again_keeps_its_first_origin(tmp_path):
    lane, sent = _lane(tmp_path)
    await lane.send(_record({"sluice-replay-of": b"sluice-ingest@old:0:7"}), "acme", "sluice-slow@Q1:0:2")
    (topic, value, headers), = sent.records
    assert headers["sluice-replay-of"] == b"sluice-ingest@old:0:7" and value == b"v"
