"""The sink claims a partition and loads its intents under one key, read from Kafka as the partition starts."""

from sluice.kafka.topic_ids import TopicKeys
from sluice.settings import load_settings
from workers.claims import Claim
from workers.sink import ClickHouseSink


class Calls:
    """Storage that records what the sink runs on the ClickHouse thread, and answers as ClickHouse would."""

    def __init__(self, recorded: str | None = None):
        self.calls: list[tuple[str, tuple]] = []
        self.recorded = recorded  # the key the topic's newest intent was recorded under

    async def run(self, fn, *args):
        self.calls.append((fn.__name__, args))
        return {"record_claims": args[0], "recorded_key": self.recorded}.get(fn.__name__, [])


async def test_claims_and_intents_of_a_start_share_one_lookup_and_a_jump_looks_again():
    ids = iter(["one", "two"])
    looked: list[list[str]] = []

    async def lookup(bootstrap, names):
        looked.append(names)
        return {"logs": next(ids)}

    storage = Calls()
    sink = ClickHouseSink(storage, load_settings({}), TopicKeys("kafka:9092", lookup))
    claim = Claim("w/1", 5)
    written = await sink.claim([(("logs", 0), claim), (("logs", 1), claim)])
    assert written == [(("logs", 0), claim), (("logs", 1), claim)]  # named as the consumer names them
    first = await sink.load_intents("logs", 0, 0)
    second = await sink.load_intents("logs", 1, 0)
    assert looked == [["logs"]] and first.key == second.key == "logs@one"
    assert storage.calls[0] == ("record_claims", ([(("logs@one", 0), claim), (("logs@one", 1), claim)],))
    assert [(name, args[1:3]) for name, args in storage.calls[1:]] == [("read", ("logs@one", 0)), ("read", ("logs@one", 1))]
    # A jump without a new claim (an offset reset: a recreated topic read from 0 again) reads the id again.
    again = await sink.load_intents("logs", 0, 0)
    assert looked == [["logs"], ["logs"]] and again.key == "logs@two"


async def test_without_an_answer_from_kafka_a_fresh_worker_goes_on_under_the_key_last_recorded():
    answers: list = [OSError("refused"), {"logs": "two"}]

    async def lookup(bootstrap, names):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    storage = Calls(recorded="logs@one")
    sink = ClickHouseSink(storage, load_settings({}), TopicKeys("kafka:9092", lookup))
    assert (await sink.load_intents("logs", 0, 7)).key == "logs@one"
    assert storage.calls == [("recorded_key", ("sluice", "logs", {})), ("read", ("sluice", "logs@one", 0, 7, {}))]
    assert (await sink.load_intents("logs", 0, 0)).key == "logs@two"  # Kafka answers again: recreated


async def test_a_topic_never_keyed_stays_under_its_name():
    async def lookup(bootstrap, names):
        return {}

    sink = ClickHouseSink(Calls(recorded=None), load_settings({}), TopicKeys("kafka:9092", lookup))
    assert (await sink.load_intents("logs", 0, 0)).key == "logs"
