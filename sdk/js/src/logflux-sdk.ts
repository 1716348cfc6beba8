/**
 * The `@logflux/logflux-js-sdk` surface, as the LogFlux doc writes it:
 *
 *   const logflux = require('@logflux/logflux-js-sdk');
 *   logflux.init('https://c12345.ingest.us.logflux.io', 'my-app', 'lf_your_api_key', 'your-secret');
 *   await logflux.info('Application started successfully');
 *   await logflux.close();
 *
 * `init` makes one process-wide failsafe `ResilientClient` that the level functions write to
 * (each resolves true once its entry is queued); `close` delivers what is queued and ends it.
 * A level function called before `init` rejects with `LogFluxError` `NOT_INITIALIZED`: that is
 * a programming error, not an outage. The package folder sdk/js/logflux carries this module
 * built as CommonJS, so `require` works on every supported Node.
 */
import { LogFluxError, ResilientClient, ResilientClientConfig } from "./resilient.js";

export { LogFluxError, ResilientClient, baseUrl } from "./resilient.js";
export type { ResilientClientConfig } from "./resilient.js";
export type { Stats } from "./client.js";

type Fields = Record<string, unknown>;
let current: ResilientClient | null = null;

/** Start the process-wide client, closing the previous one; `options` as `ResilientClient`'s. */
export function init(url: string, node: string, apiKey: string, secret: string,
                     options: Partial<ResilientClientConfig> = {}): ResilientClient {
  const previous = current;
  current = new ResilientClient({ ...options, serverUrl: url, node, apiKey, secret });
  if (previous) void previous.close().catch(() => undefined);  // its own failsafe mode already reported
  return current;
}

export function getClient(): ResilientClient {
  if (!current) throw new LogFluxError("NOT_INITIALIZED", "call logflux.init(url, node, apiKey, secret) before logging");
  return current;
}

function send(level: string, message: string, fields?: Fields): Promise<boolean> {
  try {
    return getClient().log(level, message, fields);
  } catch (error) {
    return Promise.reject(error);
  }
}

export const emergency = (message: string, fields?: Fields) => send("emergency", message, fields);
export const alert = (message: string, fields?: Fields) => send("alert", message, fields);
export const critical = (message: string, fields?: Fields) => send("critical", message, fields);
export const error = (message: string, fields?: Fields) => send("error", message, fields);
export const warning = (message: string, fields?: Fields) => send("warning", message, fields);
export const notice = (message: string, fields?: Fields) => send("notice", message, fields);
export const info = (message: string, fields?: Fields) => send("info", message, fields);
export const debug = (message: string, fields?: Fields) => send("debug", message, fields);

export function flush(timeoutMs = 10_000): Promise<boolean> {
  return current ? current.flush(timeoutMs) : Promise.resolve(true);
}

/** Deliver what is queued within `timeoutMs` and end the process-wide client; nothing to do without one. */
export async function close(timeoutMs = 10_000): Promise<void> {
  const client = current;
  current = null;
  if (client) await client.close(timeoutMs);
}
