"""Dead-letter budgets per tenant: one tenant's unstorable records never stop anyone else.

Each tenant's records are counted in windows of ``window`` records. Once at
least ``min_records`` of a window are in and more than ``max_ratio`` of them
were dead-lettered whole, the tenant is quarantined for ``hold_s`` seconds:
its records go to the dead-letter topic unread (reason
``tenant_quarantined``), so a flood of poison costs a produce per record
instead of a decode, a decryption or a key derivation, and every other
tenant keeps flowing. Nothing is lost: ``sluice dlq replay --reason
tenant_quarantined`` stores the records once the tenant's input is fixed.

The worker never exits over what a tenant sent. Records without a tenant
header count against the empty tenant.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from sluice import metrics

log = logging.getLogger(__name__)

REASON = "tenant_quarantined"


@dataclass
class _Window:
    seen: int = 0
    dead: int = 0
    until: float = 0.0  # monotonic time the quarantine ends; 0: not quarantined


class Quarantine:
    """Per-tenant windows, at most ``max_tenants`` of them (least recently seen dropped first)."""

    def __init__(self, max_ratio: float, window: int, min_records: int, hold_s: float,
                 max_tenants: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.max_ratio = max_ratio
        self.window = window
        self.min_records = min_records
        self.hold_s = hold_s
        self.max_tenants = max_tenants
        self.clock = clock
        self._tenants: OrderedDict[str, _Window] = OrderedDict()

    def held(self, tenant: str) -> str | None:
        """Why ``tenant``'s records are quarantined now, or None when they are not."""
        w = self._tenants.get(tenant)
        if w is None or not w.until:
            return None
        if self.clock() >= w.until:
            w.until = 0.0
            metrics.WORKER_QUARANTINED_TENANTS.dec()
            log.warning("tenant %r released from quarantine", tenant, extra={"tenant": tenant})
            return None
        return (f"tenant {tenant!r} sent mostly unstorable records and is quarantined for "
                f"{max(0.0, w.until - self.clock()):.0f} s more; replay with "
                f"`sluice dlq replay --reason {REASON}` once its input is fixed")

    def record(self, tenant: str, dead: bool) -> None:
        """Count one judged record of ``tenant`` (dead: nothing of it could be stored)."""
        w = self._tenants.get(tenant)
        if w is None:
            w = self._tenants[tenant] = _Window()
            if len(self._tenants) > self.max_tenants:
                _, dropped = self._tenants.popitem(last=False)
                if dropped.until:
                    metrics.WORKER_QUARANTINED_TENANTS.dec()
        else:
            self._tenants.move_to_end(tenant)
        w.seen += 1
        w.dead += dead
        self._judge(tenant, w)

    def refused(self, tenant: str) -> None:
        """A record counted as storable that ClickHouse then refused: count it as dead after all."""
        w = self._tenants.get(tenant)
        if w is not None and not w.until:
            w.dead = min(w.seen, w.dead + 1)
            self._judge(tenant, w)

    def _judge(self, tenant: str, w: _Window) -> None:
        if w.seen >= self.min_records and w.dead > self.max_ratio * w.seen and not w.until:
            w.until = self.clock() + self.hold_s
            metrics.WORKER_QUARANTINES.inc()
            metrics.WORKER_QUARANTINED_TENANTS.inc()
            log.error("tenant %r quarantined for %.0f s: %d of its last %d records could not be stored; "
                      "its records go to the dead-letter topic meanwhile", tenant, self.hold_s, w.dead, w.seen,
                      extra={"tenant": tenant})
        if w.seen >= self.window or w.until:
            w.seen = w.dead = 0
