"""The search benchmark's corpus and comparisons: deterministic, and holding the casings its equivalences rely on."""

from __future__ import annotations

import re

from bench.search import Shape, _epoch_s, shapes, timed
from bench.search_corpus import HOUR_NS, SERVICES, records

START = 1_800_000_000_000_000_000


def test_records_are_deterministic_per_batch_and_spread_over_the_hour():
    whole = list(records(5000, START))
    assert whole == list(records(5000, START))
    assert list(records(5000, START, first=1000, count=1000)) == list(records(5000, START, first=1000, count=1000))
    stamps = [r["timestamp"] for r in whole]
    assert len(set(stamps)) == 5000 and stamps == sorted(stamps)
    assert [int(re.search(r"rid=(\d+)$", r["message"]).group(1)) for r in whole] == list(range(5000))
    assert {r["level"] for r in whole} == {"INFO", "WARN", "ERROR", "DEBUG"}
    assert len(SERVICES) == 16 and {r["service"] for r in whole} == set(SERVICES)
    assert stamps[-1] < _iso_end()


def _iso_end() -> str:
    from datetime import datetime, timezone
    return datetime.fromtimestamp((START + HOUR_NS) // 10**9, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def test_query_words_appear_only_in_the_casings_the_logsql_equivalents_name():
    messages = [r["message"] for r in records(20000, START)]
    failed = {m for text in messages for m in re.findall(r"(?i)failed", text)}
    assert failed == {"failed", "Failed", "FAILED"}
    assert not any(re.search(r"(?i)_failed|failed_", text) for text in messages)
    assert {m for text in messages for m in re.findall(r"(?i)authentication", text)} == {"authentication"}
    assert any("authentication failure" in text for text in messages)


def test_every_shape_names_both_spellings_and_a_run_that_changes_its_answer_fails():
    assert [s.name for s in shapes(1000)] == ["rare_token", "frequent_word", "field_filters", "phrase",
                                              "field_and_not_word", "count_word", "histogram_60"]
    assert all(isinstance(s, Shape) and s.logsql and s.kind in ("rows", "count", "histogram") for s in shapes(1000))
    assert _epoch_s("2027-01-15T08:01:00Z") == _epoch_s("2027-01-15T08:01:00.000000000Z") == 1_800_000_060
    answers = iter([1, 1, 2])  # a warm-up, then a second answer that differs
    try:
        timed(lambda: next(answers), 2)
    except RuntimeError as exc:
        assert "differently" in str(exc)
    else:
        raise AssertionError("a changed answer was not noticed")


def test_the_concurrency_scenario_sends_eight_searches_at_once_four_per_tenant():
    import threading
    from collections import Counter
    from types import SimpleNamespace

    from bench import search_concurrency

    shapes = [SimpleNamespace(name=f"s{i}") for i in range(3)]
    calls: Counter = Counter()
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def ask(tenant, shape):
        with lock:
            calls[tenant] += 1
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        try:
            if calls["a"] + calls["b"] > 2 * 3 * 3:  # past the single searches (3 shapes x (1 + 2 runs) x 2 tenants)
                everyone.wait(timeout=30)  # only passes when all 8 of a round are in flight together
        finally:
            with lock:
                in_flight[0] -= 1

    everyone = threading.Barrier(8)
    figures = search_concurrency.measure(ask, ["a", "b"], shapes, runs=2, rounds=2)
    assert most[0] == 8 and not everyone.broken
    assert calls == {"a": 3 * 3 + 2 * 4, "b": 3 * 3 + 2 * 4}
    assert figures["searches_at_once"] == 8 and set(figures["slowdown_median_by_tenant"]) == {"a", "b"}
    assert figures["tenant_ratio"] >= 1.0 and len(figures["single_median_ms"]) == 6
