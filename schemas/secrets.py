"""Records of the compacted secrets topic: tenants' LogFlux encryption secrets, sealed.

Record key ``<tenant>/<version>``. The secret is sealed with Sluice's master
key (AES-256-GCM, the tenant and version as associated data), so the topic
alone reveals nothing; only workers and the CLI hold the master key.
"""

from __future__ import annotations

import msgspec


class SecretRecord(msgspec.Struct):
    tenant: str
    version: int
    sealed: str  # base64 of a 12-byte nonce ‖ ciphertext ‖ tag
    created_at: str
    removed_at: str | None = None

    @property
    def key(self) -> bytes:
        return f"{self.tenant}/{self.version}".encode()


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(SecretRecord)


def encode(record: SecretRecord) -> bytes:
    return _encoder.encode(record)


def decode(value: bytes) -> SecretRecord:
    return _decoder.decode(value)
