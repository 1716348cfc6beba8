export { Client, fetchSend } from "./client.js";
export type { Options, Response, Send, Stats } from "./client.js";
export { LogFlux, LogTrace } from "./dialects.js";
export type { Dialect, LogRecord } from "./dialects.js";
export { Session, derive, seal } from "./logflux.js";
export { backoffMs, delayMs, retryable, serverDelayMs } from "./retry.js";
export { LogFluxError, ResilientClient, baseUrl } from "./resilient.js";
export type { ResilientClientConfig } from "./resilient.js";
