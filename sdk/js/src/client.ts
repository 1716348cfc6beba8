/**
 * The client: a bounded queue the application writes to, and one sending loop.
 *
 * Same contracts as the Python SDK:
 * - `log()` and its level shortcuts never block and never throw. A full queue
 *   drops the new record and counts it in `stats.dropped` (failsafe mode).
 * - A batch leaves when it holds `batchSize` records or its oldest record has
 *   waited `flushIntervalMs`; failed sends are retried until they succeed or the
 *   client closes; batches go one at a time, in order.
 * - `flush(timeoutMs)` resolves true once everything queued before it was sent,
 *   false when the time is up. `close(timeoutMs)` flushes and stops; what is
 *   left is counted in `stats.abandoned`.
 */
import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { Dialect, LogRecord, LogTrace } from "./dialects.js";
import { delayMs, retryable } from "./retry.js";

export interface Response { status: number | null; headers: Record<string, string> }
export type Send = (url: string, body: Uint8Array, headers: Record<string, string>, timeoutMs: number) => Promise<Response>;

export interface Stats { sent: number; dropped: number; rejected: number; abandoned: number; retries: number }

export interface Options {
  dialect?: Dialect;
  batchSize?: number;
  flushIntervalMs?: number;
  maxQueue?: number;
  compression?: "gzip" | null;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  timeoutMs?: number;
  send?: Send;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** false: no timers; call `pump()` yourself (tests). */
  start?: boolean;
}

/** fetch with a deadline; any failure to get an answer is status null. */
export const fetchSend: Send = async (url, body, headers, timeoutMs) => {
  try {
    const res = await fetch(url, { method: "POST", body: body as unknown as BodyInit, headers,
                                   signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { status: res.status, headers: Object.fromEntries(res.headers.entries()) };
  } catch {
    return { status: null, headers: {} };
  }
};

export class Client {
  readonly stats: Stats = { sent: 0, dropped: 0, rejected: 0, abandoned: 0, retries: 0 };
  readonly dialect: Dialect;
  private readonly url: string;
  private readonly queue: Array<[number, LogRecord]> = [];
  private readonly o: Required<Omit<Options, "dialect">>;
  private inFlight = 0;
  private flushing = 0;
  private closing = false;
  private sending: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;

  constructor(url: string, private readonly key: string, options: Options = {}) {
    this.url = url.replace(/\/+$/, "");
    this.dialect = options.dialect ?? new LogTrace();
    this.o = {
      batchSize: Math.max(1, Math.min(options.batchSize ?? 500, this.dialect.maxBatch)),
      flushIntervalMs: options.flushIntervalMs ?? 1000, maxQueue: options.maxQueue ?? 10_000,
      compression: options.compression === undefined ? "gzip" : options.compression,
      backoffBaseMs: options.backoffBaseMs ?? 500, backoffCapMs: options.backoffCapMs ?? 30_000,
      timeoutMs: options.timeoutMs ?? 10_000, send: options.send ?? fetchSend, clock: options.clock ?? Date.now,
      sleep: options.sleep ?? ((ms) => this.interruptibleSleep(ms)), start: options.start ?? true,
    };
    // The timers are unref'd, so a finished program reaches beforeExit with records still
    // queued: close then, which sends them (keeping the loop alive) within the deadline.
    if (this.o.start) process.once("beforeExit", this.atExit);
  }

  log(level: string, message: string, fields: Record<string, unknown> = {}): boolean {
    try {
      const now = this.o.clock();
      if (this.closing || this.queue.length >= this.o.maxQueue) {
        this.stats.dropped += 1;
        return false;
      }
      this.queue.push([now, [new Date(now).toISOString(), level, String(message), fields]]);
      this.schedule();
      return true;
    } catch {
      this.stats.dropped += 1;
      return false;
    }
  }

  debug(message: string, fields?: Record<string, unknown>) { return this.log("debug", message, fields); }
  info(message: string, fields?: Record<string, unknown>) { return this.log("info", message, fields); }
  warning(message: string, fields?: Record<string, unknown>) { return this.log("warning", message, fields); }
  error(message: string, fields?: Record<string, unknown>) { return this.log("error", message, fields); }
  critical(message: string, fields?: Record<string, unknown>) { return this.log("critical", message, fields); }

  async flush(timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    this.flushing += 1;
    try {
      while (this.queue.length || this.inFlight) {
        if (Date.now() >= deadline) return false;
        this.schedule(true);
        await new Promise((r) => setTimeout(r, Math.min(20, Math.max(1, deadline - Date.now()))));
      }
      return true;
    } finally {
      this.flushing -= 1;
    }
  }

  private readonly atExit = () => { void this.close(5000); };

  async close(timeoutMs = 5000): Promise<void> {
    if (this.closing) return;
    process.removeListener("beforeExit", this.atExit);
    await this.flush(timeoutMs);
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.sending;  // an in-flight batch ends after at most one more attempt and is counted
    this.stats.abandoned += this.queue.length;
    this.queue.length = 0;
  }

  /** Send one batch if one is due (or whatever is queued, with `force`); the records sent. */
  async pump(force = false): Promise<number> {
    if (!this.due(force)) return 0;
    const batch = this.queue.splice(0, this.o.batchSize).map(([, record]) => record);
    this.inFlight = batch.length;
    try {
      return await this.deliver(batch);
    } catch {
      this.stats.rejected += batch.length;  // a record the dialect cannot encode: counted, never thrown
      return 0;
    } finally {
      this.inFlight = 0;
    }
  }

  private due(force: boolean): boolean {
    if (!this.queue.length) return false;
    return force || this.queue.length >= this.o.batchSize || this.o.clock() - this.queue[0][0] >= this.o.flushIntervalMs;
  }

  private async deliver(batch: LogRecord[]): Promise<number> {
    let body: Uint8Array = Buffer.from(this.dialect.body(batch), "utf8");
    // One key for every attempt: a retry of a request whose answer was lost is stored once.
    const headers: Record<string, string> = { ...this.dialect.headers(this.key), "Idempotency-Key": randomUUID() };
    if (this.o.compression === "gzip") {
      body = gzipSync(body);
      headers["Content-Encoding"] = "gzip";
    }
    for (let attempt = 0; ; attempt++) {
      const res = await this.o.send(this.url + this.dialect.path, body, headers, this.o.timeoutMs);
      if (res.status !== null && res.status >= 200 && res.status < 300) {
        this.stats.sent += batch.length;
        return batch.length;
      }
      if (!retryable(res.status)) {
        this.stats.rejected += batch.length;
        return 0;
      }
      if (this.closing) {
        this.stats.abandoned += batch.length;
        return 0;
      }
      this.stats.retries += 1;
      await this.o.sleep(delayMs(attempt, res.headers, this.o.clock(), this.o.backoffBaseMs, this.o.backoffCapMs));
    }
  }

  /** Run the sending loop now if a batch is due, else arm a timer for the oldest record. */
  private schedule(force = false): void {
    if (!this.o.start || this.sending) return;
    if (this.due(force || this.flushing > 0)) {
      if (this.timer) { clearTimeout(this.timer); this.timer = null; }
      this.sending = this.loop().finally(() => { this.sending = null; this.schedule(); });
    } else if (this.queue.length && !this.timer) {
      const wait = Math.max(1, this.queue[0][0] + this.o.flushIntervalMs - this.o.clock());
      this.timer = setTimeout(() => { this.timer = null; this.schedule(); }, wait);
      this.timer.unref();  // never keep the application alive just for logs
    }
  }

  private async loop(): Promise<void> {
    while (!this.closing && this.due(this.flushing > 0)) {
      await this.pump(this.flushing > 0);
    }
  }

  private interruptibleSleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = null; resolve(); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = null; resolve(); };
    });
  }
}
