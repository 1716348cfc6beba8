"""Per-tenant dead-letter budgets: one tenant's poison never stops or slows another tenant."""

from __future__ import annotations

from sluice import metrics
from workers.quarantine import REASON, Quarantine
from tests.support import Clock


def test_a_tenant_over_its_budget_is_held_and_others_are_not():
    clock = Clock(1000.0)
    q = Quarantine(max_ratio=0.5, window=10, min_records=5, hold_s=60, clock=clock)
    before = metrics.WORKER_QUARANTINES._value.get()
    for _ in range(4):  # too few records for a verdict
        q.record("poison", True)
        q.record("fine", False)
    assert q.held("poison") is None
    q.record("poison", True)
    why = q.held("poison")
    assert why is not None and "'poison'" in why and REASON in why
    assert q.held("fine") is None
    assert metrics.WORKER_QUARANTINES._value.get() - before == 1
    clock.now += 59
    assert q.held("poison") is not None
    clock.now += 2
    assert q.held("poison") is None  # released; judged afresh from an empty window
    for _ in range(4):
        q.record("poison", True)
    assert q.held("poison") is None


def test_a_mostly_healthy_window_never_trips_and_windows_restart():
    q = Quarantine(max_ratio=0.5, window=10, min_records=5, hold_s=60, clock=Clock(1000.0))
    for _ in range(3):  # 5 dead of 10 is not more than half
        for dead in (False, True) * 5:
            q.record("acme", dead)
    assert q.held("acme") is None


def test_the_number_of_tracked_tenants_is_bounded():
    q = Quarantine(max_ratio=0.5, window=10, min_records=1, hold_s=60, max_tenants=3, clock=Clock(1000.0))
    gauge = metrics.WORKER_QUARANTINED_TENANTS._value.get()
    q.record("a", True)
    assert q.held("a") is not None
    assert metrics.WORKER_QUARANTINED_TENANTS._value.get() == gauge + 1
    for tenant in ("b", "c", "d"):  # a is the least recently seen: dropped
        q.record(tenant, False)
    assert q.held("a") is None
    assert metrics.WORKER_QUARANTINED_TENANTS._value.get() == gauge


def test_records_the_engine_refused_count_against_their_tenant():
    q = Quarantine(max_ratio=0.5, window=10, min_records=4, hold_s=60, clock=Clock(1000.0))
    for _ in range(4):
        q.record("acme", False)  # decoded fine ...
    for _ in range(2):
        q.refused("acme")  # ... and then refused at insert
    assert q.held("acme") is None  # 2 of 4 is not more than half
    q.record("acme", False)
    q.refused("acme")
    assert q.held("acme") is not None  # 3 of 5
