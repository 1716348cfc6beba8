"""Where a live tail stands, so it delivers every matching row once and never stalls.

Rows are ordered by ``(ReceivedAt ns, row key)``: all rows of one request share
their ReceivedAt, so time alone cannot page through a large request. The row
key hashes everything a tail shows of a row, so rows with the same position
are identical to the reader, and the cursor keeps a count per position instead
of telling them apart.

A row can become visible after rows received later (another partition's batch
was inserted first). The cursor therefore remembers the positions it delivered
in a window of ``lookback_ns`` before its position, with counts, and a caller
compares them with what the engine holds there (``late``). Rows that become
visible further back than the window, or beyond ``max_tracked`` rows of it,
are not delivered.
"""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

Position = tuple[int, int]  # (ReceivedAt in ns, row key)
Row = TypeVar("Row")

LOOKBACK_NS = 10 * 1_000_000_000
MAX_TRACKED = 50_000


class Cursor:
    def __init__(self, start_ns: int, lookback_ns: int = LOOKBACK_NS, max_tracked: int = MAX_TRACKED):
        self.start = start_ns  # rows received before the tail began are not its
        self.position: Position = (start_ns, 0)
        self.lookback_ns, self.max_tracked = lookback_ns, max_tracked
        self.floor = start_ns  # raised when the window holds more than max_tracked rows
        self.delivered: dict[Position, int] = {}

    @property
    def window_start(self) -> int:
        """The oldest ReceivedAt still checked for late rows."""
        return max(self.floor, self.position[0] - self.lookback_ns)

    def at_position(self) -> int:
        """Rows delivered at exactly the position (a frontier page skips that many)."""
        return self.delivered.get(self.position, 0)

    def behind(self) -> int:
        """Rows delivered in the window strictly before the position."""
        lo, here = self.window_start, self.position
        return sum(n for p, n in self.delivered.items() if p[0] >= lo and p < here)

    def missing(self, counts: Iterable[tuple[int, int, int]]) -> list[Position]:
        """Positions of ``(received, key, rows there)`` holding rows not delivered yet."""
        return [(r, k) for r, k, n in counts if n > self.delivered.get((r, k), 0)]

    def take(self, rows: list[Row], position_of: Callable[[Row], Position]) -> list[Row]:
        """The rows not delivered yet, in order, now marked delivered.

        ``rows`` is ordered by position and holds, for each position in it, its
        first rows (a page may cut the last position short): the n-th row at a
        position is new when fewer than n were delivered there.
        """
        seen: dict[Position, int] = {}
        fresh = []
        for row in rows:
            p = position_of(row)
            n = seen[p] = seen.get(p, 0) + 1
            if n > self.delivered.get(p, 0):
                self.delivered[p] = n
                fresh.append(row)
        return fresh

    def advance(self, to: Position) -> None:
        self.position = max(self.position, to)

    def prune(self) -> None:
        """Forget positions older than the window, and the oldest beyond ``max_tracked``.

        Rows at the position's own ReceivedAt are always kept: the next frontier
        page starts at the position and skips what was delivered there.
        """
        lo = self.window_start
        kept = {p: n for p, n in self.delivered.items() if p[0] >= lo}
        if sum(kept.values()) > self.max_tracked:
            total = 0
            for p in sorted(kept, reverse=True):
                total += kept[p]
                if total > self.max_tracked:
                    self.floor = max(self.floor, min(p[0] + 1, self.position[0]))
                    break
            kept = {p: n for p, n in kept.items() if p[0] >= self.floor}
        self.delivered = kept
