"""When to retry a request, and how long to wait first.

Retried: network errors, 429 and 5xx. Never retried: any other 4xx — the
request itself is wrong (400), the key is (401/403) or the batch is too big
(413), and sending it again cannot help. The wait honours ``Retry-After``
(seconds or an HTTP date) and ``X-RateLimit-Reset`` (epoch seconds);
otherwise it is exponential with full jitter, capped.
"""

from __future__ import annotations

import random
from email.utils import parsedate_to_datetime
from typing import Callable, Mapping, Optional


def retryable(status: Optional[int]) -> bool:
    """``status`` None is a network error."""
    return status is None or status == 429 or status >= 500


def server_delay(headers: Mapping[str, str], now: float) -> Optional[float]:
    """Seconds the server asked us to wait, if it said."""
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = lowered.get("retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = lowered.get("x-ratelimit-reset")
    if reset and lowered.get("x-ratelimit-remaining") == "0":
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            pass
    return None


def backoff(attempt: int, base_s: float, cap_s: float, rand: Callable[[], float] = random.random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return rand() * min(cap_s, base_s * (2 ** attempt))


def delay(attempt: int, headers: Mapping[str, str], now: float, base_s: float, cap_s: float,
          rand: Callable[[], float] = random.random) -> float:
    asked = server_delay(headers, now)
    return min(cap_s, asked) if asked is not None else backoff(attempt, base_s, cap_s, rand)
