// The TypeScript SDK's batching, backoff, failsafe queue and encryption, with a fake clock and server.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { Client, LogFlux, LogRecord, LogTrace, Response, Session, backoffMs, derive, seal, serverDelayMs } from "../src/index.js";

const vectors = JSON.parse(readFileSync(new URL("../../../../schemas/vectors/logflux.json", import.meta.url), "utf8"));

class Fake {
  now = 1_700_000_000_000;
  slept: number[] = [];
  requests: Array<{ url: string; body: Uint8Array; headers: Record<string, string> }> = [];
  constructor(public answers: Array<[number | null, Record<string, string>]> = []) {}
  clock = () => this.now;
  sleep = async (ms: number) => { this.slept.push(ms); this.now += ms; };
  send = async (url: string, body: Uint8Array, headers: Record<string, string>): Promise<Response> => {
    this.requests.push({ url, body, headers });
    const [status, h] = this.answers.shift() ?? [202, {}];
    return { status, headers: h };
  };
  logs(i = -1): any[] {
    const r = this.requests.at(i)!;
    const raw = r.headers["Content-Encoding"] === "gzip" ? gunzipSync(r.body) : Buffer.from(r.body);
    return JSON.parse(raw.toString()).logs;
  }
}

function client(fake: Fake, options: object = {}) {
  return new Client("http://sluice/", "slk_key", { send: fake.send, clock: fake.clock, sleep: fake.sleep, start: false, ...options });
}

test("a batch leaves when full or when its oldest record is old enough", async () => {
  const fake = new Fake();
  const c = client(fake, { batchSize: 3, flushIntervalMs: 1000 });
  c.info("a"); c.info("b");
  assert.equal(await c.pump(), 0);
  c.info("c", { order_id: 7 });
  assert.equal(await c.pump(), 3);
  assert.deepEqual(fake.logs().map((e) => e.message), ["a", "b", "c"]);
  assert.deepEqual(fake.logs()[2].attributes, { order_id: 7 });
  assert.equal(fake.requests[0].url, "http://sluice/v1/logs/ingest");
  assert.equal(fake.requests[0].headers.Authorization, "Bearer slk_key");
  c.warning("d");
  fake.now += 500;
  assert.equal(await c.pump(), 0);
  fake.now += 500;
  assert.equal(await c.pump(), 1);
  assert.equal(fake.logs()[0].level, "WARNING");
});

test("retries back off and honour Retry-After and X-RateLimit-Reset", async () => {
  const fake = new Fake([[503, { "Retry-After": "7" }], [null, {}],
    [429, { "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000100" }]]);
  const c = client(fake, { batchSize: 1, backoffBaseMs: 1000, backoffCapMs: 300_000 });
  c.error("boom");
  assert.equal(await c.pump(), 1);
  assert.equal(fake.requests.length, 4);
  assert.deepEqual([c.stats.retries, c.stats.sent], [3, 1]);
  assert.equal(fake.slept[0], 7000);
  assert.ok(fake.slept[1] >= 0 && fake.slept[1] <= 2000);
  assert.equal(Math.round(fake.slept[2]), Math.round(1_700_000_100_000 - (1_700_000_000_000 + 7000 + fake.slept[1])));
  const keys = new Set(fake.requests.map((r) => r.headers["Idempotency-Key"]));
  assert.equal(keys.size, 1);  // every attempt of the batch under one key: the gateway stores it once
  c.error("next");
  await c.pump();
  assert.ok(!keys.has(fake.requests[fake.requests.length - 1].headers["Idempotency-Key"]));
});

for (const status of [400, 401, 403, 413]) {
  test(`HTTP ${status} is not retried`, async () => {
    const fake = new Fake([[status, {}]]);
    const c = client(fake, { batchSize: 2 });
    c.info("a"); c.info("b");
    assert.equal(await c.pump(), 0);
    assert.deepEqual([fake.requests.length, c.stats.rejected, fake.slept.length], [1, 2, 0]);
  });
}

test("backoff is capped full jitter; server delays are read", () => {
  assert.equal(backoffMs(10, 500, 30_000, () => 1), 30_000);
  assert.equal(backoffMs(2, 500, 30_000, () => 0.5), 1000);
  assert.equal(serverDelayMs({ "Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT" }, 1445412470000), 10_000);
  assert.equal(serverDelayMs({ "X-RateLimit-Reset": "100", "X-RateLimit-Remaining": "3" }, 0), null);
});

test("a full queue drops and counts instead of blocking", async () => {
  const fake = new Fake();
  const c = client(fake, { batchSize: 10, maxQueue: 5 });
  const results = Array.from({ length: 8 }, (_, i) => c.info(String(i)));
  assert.deepEqual(results, [true, true, true, true, true, false, false, false]);
  assert.equal(c.stats.dropped, 3);
  assert.equal(await c.pump(true), 5);
});

test("close delivers what is queued, and accounts for what it could not", async () => {
  const fake = new Fake();
  const c = new Client("http://sluice", "k", { send: fake.send, batchSize: 100, flushIntervalMs: 60_000 });
  for (let i = 0; i < 250; i++) c.info(`m${i}`);
  await c.close(5000);
  assert.deepEqual([c.stats.sent, c.stats.abandoned], [250, 0]);
  assert.equal(c.info("after close"), false);

  const down = new Fake(Array.from({ length: 10_000 }, () => [null, {}] as [null, {}]));
  const d = new Client("http://sluice", "k", { send: down.send, batchSize: 10, backoffBaseMs: 5, backoffCapMs: 5 });
  for (let i = 0; i < 25; i++) d.info(`m${i}`);
  await d.close(300);
  assert.deepEqual([d.stats.sent, d.stats.abandoned], [0, 25]);
});

for (const v of vectors.vectors) {
  test(`encryption matches the shared vector: ${v.name}`, () => {
    const key = derive(v.secret, Buffer.from(v.salt, "base64"));
    assert.equal(key.toString("hex"), v.key);
    assert.equal(seal(key, Buffer.from(v.iv, "base64"), Buffer.from(v.plaintext, "utf8")).toString("base64"), v.payload);
  });
}

test("a LogFlux session derives once and uses a fresh IV per entry", () => {
  const dialect = new LogFlux("your-secret", "api-1", Buffer.alloc(32));
  const { entries } = JSON.parse(dialect.body([["2026-01-01T00:00:00.000Z", "error", "m1", {}],
    ["2026-01-01T00:00:00.000Z", "info", "m2", { user: "u1" }]]));
  assert.equal(entries[0].salt, Buffer.alloc(32).toString("base64"));
  assert.equal(entries[0].salt, entries[1].salt);
  assert.notEqual(entries[0].iv, entries[1].iv);
  assert.deepEqual([entries[0].loglevel, entries[1].loglevel, entries[0].node], [4, 7, "api-1"]);
});

const requests = JSON.parse(readFileSync(new URL("../../../../schemas/vectors/requests.json", import.meta.url), "utf8"));

test("requests match the shared request vectors", () => {
  const records = requests.records as LogRecord[];
  assert.deepEqual(JSON.parse(new LogTrace(requests.logtrace.service).body(records)), requests.logtrace.body);
  const v = requests.logflux;
  const session = new Session(v.secret, Buffer.from(v.salt, "base64"));
  const entries = records.map(([ts, level, message, fields], i) => {
    const { service, ...rest } = fields;
    return session.entry(String(service ?? v.node), level, message, ts, rest, Buffer.alloc(12, i + 1));
  });
  assert.deepEqual(entries, v.entries);
});
