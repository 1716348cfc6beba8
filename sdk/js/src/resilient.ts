/**
 * `ResilientClient`: the LogFlux SDK's client, a thin face over `Client` with the LogFlux dialect.
 *
 * Entries are encrypted (logflux.ts: AES-256-GCM, PBKDF2 once per client), queued and sent in
 * batches of up to 100 to `<serverUrl>/v1/batch`, with retries on network errors, 429 and 5xx.
 *
 * `failsafeMode` (the doc's option) decides what the application sees when logging cannot work:
 * - true (the default, "never crash your app"): nothing throws or rejects; an entry that does not
 *   fit in the `queueSize` queue is dropped and counted in `stats.dropped`.
 * - false: a log call whose entry is not queued rejects with `LogFluxError` (`QUEUE_FULL` or
 *   `CLOSED`), and `close()` rejects with `UNDELIVERED` when any entry of the client's life was
 *   refused by the server or still queued at the deadline.
 */
import { Client, Options, Stats } from "./client.js";
import { LogFlux } from "./dialects.js";

export class LogFluxError extends Error {
  constructor(readonly code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = "LogFluxError";
  }
}

export interface ResilientClientConfig extends Omit<Options, "dialect" | "maxQueue"> {
  serverUrl: string;
  node: string;
  apiKey: string;
  secret: string;
  /** true (default): never throw or reject; false: refused entries and losses reject. */
  failsafeMode?: boolean;
  /** Entries buffered while the server is unreachable (default 1000). */
  queueSize?: number;
}

/**
 * The doc names both `https://host` and `https://host/v1` as the endpoint: accept either. Anything
 * but an http(s) URL with a host is refused (`INVALID_CONFIG`): it could only fail at every send.
 */
export function baseUrl(serverUrl: string): string {
  const base = serverUrl.replace(/\/+$/, "");
  let parsed: URL | null = null;
  try { parsed = new URL(base); } catch { /* refused below */ }
  if (!parsed || !["http:", "https:"].includes(parsed.protocol) || !parsed.host) {
    throw new LogFluxError("INVALID_CONFIG", "the server URL must be http(s)://host[:port], e.g. https://c12345.ingest.us.logflux.io");
  }
  return base.endsWith("/v1") ? base.slice(0, -3) : base;
}

export class ResilientClient {
  readonly client: Client;
  readonly failsafeMode: boolean;
  private closed = false;

  constructor(config: ResilientClientConfig) {
    const { serverUrl, node, apiKey, secret, failsafeMode = true, queueSize = 1000, ...options } = config;
    for (const [name, value] of Object.entries({ serverUrl, node, apiKey, secret })) {
      if (typeof value !== "string") throw new LogFluxError("INVALID_CONFIG", `${name} must be a string`);
    }
    const base = baseUrl(serverUrl);
    if (!apiKey || !secret) throw new LogFluxError("INVALID_CONFIG", "an API key and an encryption secret are both required");
    this.failsafeMode = failsafeMode;
    // No compression by default: the LogFlux doc documents plain JSON bodies only.
    this.client = new Client(base, apiKey, {
      batchSize: 100, compression: null, ...options, maxQueue: queueSize, dialect: new LogFlux(secret, node),
    });
  }

  get stats(): Stats { return this.client.stats; }

  /** Queue one entry: true when queued; false (failsafe) or a rejection when not. */
  async log(level: string, message: string, fields?: Record<string, unknown>): Promise<boolean> {
    if (this.client.log(level, message, fields)) return true;
    if (this.failsafeMode) return false;
    if (this.closed) throw new LogFluxError("CLOSED", "the client is closed; create a new one or call init again");
    throw new LogFluxError("QUEUE_FULL", "the queue is full while the server is unreachable; raise queueSize or log less");
  }

  emergency(message: string, fields?: Record<string, unknown>) { return this.log("emergency", message, fields); }
  alert(message: string, fields?: Record<string, unknown>) { return this.log("alert", message, fields); }
  critical(message: string, fields?: Record<string, unknown>) { return this.log("critical", message, fields); }
  error(message: string, fields?: Record<string, unknown>) { return this.log("error", message, fields); }
  warning(message: string, fields?: Record<string, unknown>) { return this.log("warning", message, fields); }
  notice(message: string, fields?: Record<string, unknown>) { return this.log("notice", message, fields); }
  info(message: string, fields?: Record<string, unknown>) { return this.log("info", message, fields); }
  debug(message: string, fields?: Record<string, unknown>) { return this.log("debug", message, fields); }

  /** Resolves true once everything queued so far was sent, false when the time is up. */
  flush(timeoutMs = 10_000): Promise<boolean> { return this.client.flush(timeoutMs); }

  /** Send what is queued (within `timeoutMs`) and stop. */
  async close(timeoutMs = 10_000): Promise<void> {
    this.closed = true;
    await this.client.close(timeoutMs);
    const lost = this.stats.rejected + this.stats.abandoned;
    if (lost && !this.failsafeMode) {
      throw new LogFluxError("UNDELIVERED", `${lost} entries were refused by the server or still queued at close`);
    }
  }
}
