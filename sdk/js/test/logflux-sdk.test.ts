// The `@logflux/logflux-js-sdk` surface: module-level functions, the resilient client's failsafe mode
// and queue size, entries that decrypt to what was logged, and the package resolving by its name.
import assert from "node:assert/strict";
import { createDecipheriv } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Response, derive } from "../src/index.js";
import * as logflux from "../src/logflux-sdk.js";
import { LogFluxError, ResilientClient, baseUrl } from "../src/logflux-sdk.js";

class Server {
  requests: Array<{ url: string; body: any; headers: Record<string, string> }> = [];
  constructor(public statuses: Array<number | null> = []) {}
  send = async (url: string, body: Uint8Array, headers: Record<string, string>): Promise<Response> => {
    this.requests.push({ url, body: JSON.parse(Buffer.from(body).toString()), headers });
    return { status: this.statuses.length ? this.statuses.shift()! : 202, headers: {} };
  };
  entries(): any[] { return this.requests.flatMap((r) => r.body.entries); }
  plaintexts(secret: string): string[] {
    return this.entries().map((e) => {
      const raw = Buffer.from(e.payload, "base64");
      const decipher = createDecipheriv("aes-256-gcm", derive(secret, Buffer.from(e.salt, "base64")),
                                        Buffer.from(e.iv, "base64"));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString();
    });
  }
}

test("the doc's sequence sends encrypted entries at every level", async () => {
  const server = new Server();
  logflux.init("https://c12345.ingest.us.logflux.io", "my-app", "lf_your_api_key", "your-secret", { send: server.send });
  const levels = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const;
  for (const level of levels) assert.equal(await logflux[level](`${level} message`), true);
  await logflux.close();
  const { url, headers } = server.requests[0];
  assert.equal(url, "https://c12345.ingest.us.logflux.io/v1/batch");
  assert.equal(headers.Authorization, "Bearer lf_your_api_key");
  assert.equal(headers["Content-Encoding"], undefined);
  assert.deepEqual(server.entries().map((e) => [e.node, e.loglevel, e.encryption_mode]),
                   [8, 7, 6, 5, 4, 3, 2, 1].map((n) => ["my-app", n, 1]));
  assert.equal(server.plaintexts("your-secret")[1], "info message");
});

test("fields travel as a JSON plaintext whose message is the body; /v1 in the URL is accepted", async () => {
  const server = new Server();
  logflux.init("https://h/v1/", "api", "lf_k", "s", { send: server.send });
  await logflux.error("payment failed", { order_id: "ORD-1" });
  await logflux.close();
  assert.equal(server.requests[0].url, "https://h/v1/batch");
  assert.deepEqual(JSON.parse(server.plaintexts("s")[0]), { message: "payment failed", order_id: "ORD-1" });
  assert.equal(baseUrl("https://c1.ingest.us.logflux.io"), "https://c1.ingest.us.logflux.io");
});

test("logging before init rejects with a code; close without a client is harmless", async () => {
  await assert.rejects(logflux.info("too early"), (e: LogFluxError) => e.code === "NOT_INITIALIZED");
  await logflux.close();
});

test("a config that could never work is refused at init", async () => {
  for (const [url, key, secret] of [["c12345.ingest.us.logflux.io", "lf_k", "s"], ["ftp://h", "lf_k", "s"],
                                    ["https://h", "", "s"], ["https://h", "lf_k", ""]]) {
    assert.throws(() => logflux.init(url, "n", key, secret), (e: LogFluxError) => e.code === "INVALID_CONFIG");
  }
  await assert.rejects(logflux.info("still not initialized"), (e: LogFluxError) => e.code === "NOT_INITIALIZED");
});

test("failsafe mode drops and counts a full queue and never rejects", async () => {
  const server = new Server([401]);
  const client = new ResilientClient({ serverUrl: "http://h", node: "n", apiKey: "lf_k", secret: "s",
                                       failsafeMode: true, queueSize: 3, send: server.send, start: false });
  const queued = [];
  for (let i = 0; i < 5; i++) queued.push(await client.info(String(i)));
  assert.deepEqual(queued, [true, true, true, false, false]);
  assert.equal(await client.client.pump(true), 0);  // the 401 refuses the batch: counted, not thrown
  await client.close(100);
  assert.deepEqual([client.stats.dropped, client.stats.rejected], [2, 3]);
  assert.equal(await client.info("after close"), false);
});

test("without failsafe mode a full queue, a closed client and lost entries reject", async () => {
  const server = new Server([400]);
  const client = new ResilientClient({ serverUrl: "http://h", node: "n", apiKey: "lf_k", secret: "s",
                                       failsafeMode: false, queueSize: 2, send: server.send, start: false });
  await client.info("a");
  await client.info("b");
  await assert.rejects(client.info("c"), (e: LogFluxError) => e.code === "QUEUE_FULL" && /queueSize/.test(e.message));
  assert.equal(await client.client.pump(true), 0);
  await assert.rejects(client.close(100), (e: LogFluxError) => e.code === "UNDELIVERED" && /2 entries/.test(e.message));
  await assert.rejects(client.info("d"), (e: LogFluxError) => e.code === "CLOSED");
});

test("a batch holds at most the doc's 100 entries", async () => {
  const server = new Server();
  const client = new ResilientClient({ serverUrl: "http://h", node: "n", apiKey: "lf_k", secret: "s",
                                       batchSize: 500, send: server.send, start: false });
  for (let i = 0; i < 150; i++) await client.debug(String(i));
  assert.deepEqual([await client.client.pump(true), await client.client.pump(true)], [100, 50]);
});

test("the package folder resolves by its name through require when linked", () => {
  const project = mkdtempSync(join(tmpdir(), "logflux-link-"));
  try {
    mkdirSync(join(project, "node_modules", "@logflux"), { recursive: true });
    symlinkSync(fileURLToPath(new URL("../../logflux", import.meta.url)),
                join(project, "node_modules", "@logflux", "logflux-js-sdk"), "dir");
    const sdk = createRequire(join(project, "app.js"))("@logflux/logflux-js-sdk");
    for (const name of ["init", "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency",
                        "flush", "close"]) {
      assert.equal(typeof sdk[name], "function", name);
    }
    assert.equal(typeof sdk.ResilientClient, "function");
    assert.equal(new sdk.ResilientClient({ serverUrl: "http://h", node: "n", apiKey: "k", secret: "s",
                                           start: false }).failsafeMode, true);
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
});
