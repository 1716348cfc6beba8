package logflux

// When to retry a request, and how long to wait first (the rules of sluice_sdk/retry.py).
//
// Retried: network errors (status 0), 429 and 5xx. Never: other 4xx — the request (400), the
// key (401/403) or the size (413) is wrong and sending it again cannot help. The wait honours
// Retry-After (seconds or an HTTP date) and X-RateLimit-Reset (epoch seconds, when
// X-RateLimit-Remaining is 0); otherwise full-jitter exponential backoff, capped.

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

func retryable(status int) bool {
	return status == 0 || status == http.StatusTooManyRequests || status >= 500
}

// serverDelay is the wait the server asked for, if it said.
func serverDelay(h http.Header, now time.Time) (time.Duration, bool) {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil {
			return max(0, time.Duration(s*float64(time.Second))), true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(0, at.Sub(now)), true
		}
	}
	if v := h.Get("X-RateLimit-Reset"); v != "" && h.Get("X-RateLimit-Remaining") == "0" {
		if s, err := strconv.ParseFloat(v, 64); err == nil {
			return max(0, time.Unix(0, int64(s*1e9)).Sub(now)), true
		}
	}
	return 0, false
}

// backoff is uniform in [0, min(cap, base * 2^attempt)].
func backoff(attempt int, base, cap time.Duration, rnd func() float64) time.Duration {
	ceiling := cap
	if attempt < 40 && base<<attempt < cap && base<<attempt > 0 {
		ceiling = base << attempt
	}
	return time.Duration(rnd() * float64(ceiling))
}

func delay(attempt int, h http.Header, now time.Time, base, cap time.Duration) time.Duration {
	if asked, ok := serverDelay(h, now); ok {
		return min(cap, asked)
	}
	return backoff(attempt, base, cap, rand.Float64)
}
