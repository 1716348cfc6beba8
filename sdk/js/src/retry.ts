/**
 * When to retry, and how long to wait first (same rules as the Python SDK).
 *
 * Retried: network errors (status null), 429 and 5xx. Never: other 4xx — the
 * request (400), the key (401/403) or the size (413) is wrong and sending it
 * again cannot help. The wait honours Retry-After (seconds or an HTTP date)
 * and X-RateLimit-Reset (epoch seconds); otherwise full-jitter exponential
 * backoff, capped.
 */

export function retryable(status: number | null): boolean {
  return status === null || status === 429 || status >= 500;
}

export function serverDelayMs(headers: Record<string, string>, nowMs: number): number | null {
  const lowered: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lowered[k.toLowerCase()] = v;
  const retryAfter = lowered["retry-after"];
  if (retryAfter) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - nowMs);
  }
  const reset = lowered["x-ratelimit-reset"];
  if (reset && lowered["x-ratelimit-remaining"] === "0") {
    const at = Number(reset);
    if (Number.isFinite(at)) return Math.max(0, at * 1000 - nowMs);
  }
  return null;
}

export function backoffMs(attempt: number, baseMs: number, capMs: number, rand: () => number = Math.random): number {
  return rand() * Math.min(capMs, baseMs * 2 ** attempt);
}

export function delayMs(attempt: number, headers: Record<string, string>, nowMs: number, baseMs: number,
                        capMs: number, rand: () => number = Math.random): number {
  const asked = serverDelayMs(headers, nowMs);
  return asked !== null ? Math.min(capMs, asked) : backoffMs(attempt, baseMs, capMs, rand);
}
