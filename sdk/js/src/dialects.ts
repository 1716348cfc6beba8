/** How a batch of records becomes a request: LogTrace (plain) or LogFlux (encrypted). */
import { Session } from "./logflux.js";

export type LogRecord = [timestamp: string, level: string, message: string, fields: Record<string, unknown>];

export interface Dialect {
  readonly path: string;
  readonly maxBatch: number;
  body(records: LogRecord[]): string;
  headers(key: string): Record<string, string>;
}

/** `POST /v1/logs/ingest` with `{"logs": [...]}`, up to 5,000 per request. */
export class LogTrace implements Dialect {
  readonly path = "/v1/logs/ingest";
  readonly maxBatch = 5000;
  constructor(private readonly service = "", private readonly host = "") {}

  body(records: LogRecord[]): string {
    const logs = records.map(([timestamp, level, message, fields]) => {
      const { service = this.service, host = this.host, trace_id, span_id, ...rest } = fields;
      const entry: Record<string, unknown> = { timestamp, level: level.toUpperCase(), message,
        service: String(service), host: String(host) };
      if (trace_id !== undefined) entry.trace_id = String(trace_id);
      if (span_id !== undefined) entry.span_id = String(span_id);
      if (Object.keys(rest).length) entry.attributes = rest;
      return entry;
    });
    return JSON.stringify({ logs });
  }

  headers(key: string): Record<string, string> {
    return { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
  }
}

/** `POST /v1/batch` with `{"entries": [...]}`, each entry encrypted; up to 100 per request. */
export class LogFlux implements Dialect {
  readonly path = "/v1/batch";
  readonly maxBatch = 100;
  readonly session: Session;
  constructor(secret: string, private readonly node = "", salt?: Buffer) {
    this.session = new Session(secret, salt);
  }

  body(records: LogRecord[]): string {
    const entries = records.map(([timestamp, level, message, fields]) => {
      const { service, ...rest } = fields;
      return this.session.entry(String(service ?? this.node) || "app", level, message, timestamp, rest);
    });
    return JSON.stringify({ entries });
  }

  headers(key: string): Record<string, string> {
    return { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
  }
}
