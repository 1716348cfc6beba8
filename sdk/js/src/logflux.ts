/**
 * LogFlux encryption mode 1: AES-256-GCM with a PBKDF2-HMAC-SHA256 key (600,000 iterations).
 * One salt per session: the key is derived once, every entry gets a fresh 12-byte IV,
 * so Sluice's workers derive the key once per session too.
 */
import { createCipheriv, pbkdf2Sync, randomBytes } from "node:crypto";

export const ITERATIONS = 600_000;
export const LEVELS: Record<string, number> = {
  emergency: 1, alert: 2, critical: 3, error: 4, warning: 5, notice: 6, info: 7, debug: 8,
};

export function derive(secret: string, salt: Buffer, iterations = ITERATIONS): Buffer {
  return pbkdf2Sync(Buffer.from(secret, "utf8"), salt, iterations, 32, "sha256");
}

/** Ciphertext followed by the 16-byte tag, no associated data. */
export function seal(key: Buffer, iv: Buffer, plaintext: Buffer): Buffer {
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

export interface LogFluxEntry {
  node: string; loglevel: number; timestamp: string; encryption_mode: 1; payload: string; iv: string; salt: string;
}

export class Session {
  readonly salt: Buffer;
  private readonly key: Buffer;

  constructor(secret: string, salt?: Buffer) {
    this.salt = salt ?? randomBytes(32);
    this.key = derive(secret, this.salt);
  }

  /** With fields, the plaintext is a JSON object: `message` becomes the body, the rest attributes. */
  entry(node: string, level: string, message: string, timestamp: string, fields: Record<string, unknown>,
        iv: Buffer = randomBytes(12)): LogFluxEntry {
    const plaintext = Object.keys(fields).length ? JSON.stringify({ message, ...fields }) : message;
    return {
      node, loglevel: LEVELS[level.toLowerCase()] ?? 7, timestamp, encryption_mode: 1,
      payload: seal(this.key, iv, Buffer.from(plaintext, "utf8")).toString("base64"),
      iv: iv.toString("base64"), salt: this.salt.toString("base64"),
    };
  }
}
