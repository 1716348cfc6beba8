"""LogFlux encryption mode 1: AES-256-GCM with a PBKDF2-HMAC-SHA256 key (600,000 iterations).

One salt per session: the key is derived once, when the session starts, and
every entry gets a fresh 12-byte IV. Sluice's workers cache derived keys by
salt, so a session costs the server one derivation instead of one per entry
(the LogFlux doc's own snippet draws a new salt for every entry).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Mapping, Optional

ITERATIONS = 600_000
# logflux.txt: 1 EMERGENCY … 8 DEBUG (syslog order, shifted by one).
LEVELS = {"emergency": 1, "alert": 2, "critical": 3, "error": 4, "warning": 5, "notice": 6, "info": 7, "debug": 8}


def derive(secret: bytes, salt: bytes, iterations: int = ITERATIONS) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    return PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations).derive(secret)


def seal(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """Ciphertext followed by the 16-byte tag, no associated data."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key).encrypt(iv, plaintext, None)


class Session:
    """Encrypts entries under one salt; the derivation happens here, once."""

    def __init__(self, secret: str, salt: Optional[bytes] = None):
        self.salt = salt or os.urandom(32)
        self._key = derive(secret.encode(), self.salt)
        self._salt_b64 = base64.b64encode(self.salt).decode()

    def entry(self, node: str, level: str, message: str, timestamp: str, fields: Mapping[str, Any],
              iv: Optional[bytes] = None) -> dict:
        """One ``/v1/batch`` entry. With fields, the plaintext is a JSON object whose ``message``
        becomes the stored body and whose other keys become attributes."""
        # Compact, UTF-8 as is: the same bytes JSON.stringify gives, so both SDKs encrypt alike.
        plaintext = json.dumps({"message": message, **fields}, default=str, separators=(",", ":"),
                               ensure_ascii=False) if fields else message
        iv = iv or os.urandom(12)
        return {"node": node, "loglevel": LEVELS.get(level.lower(), 7), "timestamp": timestamp,
                "encryption_mode": 1, "payload": base64.b64encode(seal(self._key, iv, plaintext.encode())).decode(),
                "iv": base64.b64encode(iv).decode(), "salt": self._salt_b64}
