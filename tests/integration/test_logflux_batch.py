"""LogFlux's largest documented batch, 100 entries of about 1 MB, is accepted and every entry stored decrypted."""

from __future__ import annotations

import base64
import os

import msgspec
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from tests.integration.test_logflux import logflux  # noqa: F401  (the fixture: an lf_ key and the secret)
from tests.support import post, sql, wait_for

pytestmark = pytest.mark.integration

ENTRIES, MESSAGE_BYTES = 100, 1_000_000


def encrypted_batch(secret: str) -> bytes:
    # The doc's encryption (AES-256-GCM, PBKDF2 600,000), one salt for the session: one derivation, not 100.
    salt = os.urandom(32)
    key = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=600_000).derive(secret.encode())
    entries = []
    for i in range(ENTRIES):
        iv = os.urandom(12)
        message = f"big-{i:03d} ".encode() + bytes([97 + i % 26]) * (MESSAGE_BYTES - 8)
        entries.append({"node": "bulk", "loglevel": 7, "timestamp": "2024-01-17T10:30:45Z", "encryption_mode": 1,
                        "payload": base64.b64encode(AESGCM(key).encrypt(iv, message, None)).decode(),
                        "iv": base64.b64encode(iv).decode(), "salt": base64.b64encode(salt).decode()})
    return msgspec.json.encode({"entries": entries})


def test_a_hundred_entries_of_a_megabyte_are_accepted_and_stored(logflux):  # noqa: F811
    sluice, headers = logflux
    s = sluice.settings
    body = encrypted_batch("your-secret")
    assert len(body) > 7 * max(s.max_record_bytes, s.max_body_bytes)  # seven records' worth, and more
    status, answer, _ = post(sluice.url("/v1/batch"), body, {**headers, "Idempotency-Key": "bulk-1"}, timeout=300)
    assert (status, answer["message"]) == (200, "100 log entries processed successfully")

    def stored() -> list:
        return sql(s, "SELECT count(), uniqExact(substring(Body, 1, 7)), min(length(Body)), max(length(Body)) "
                      "FROM sluice.logs WHERE Source = 'logflux' AND startsWith(Body, 'big-')")[0]

    wait_for(lambda: stored()[0] >= ENTRIES, 300, 1, "the batch's entries stored")
    assert stored() == [ENTRIES, ENTRIES, MESSAGE_BYTES, MESSAGE_BYTES]
