"""Records of the compacted registry topic: tenants and their API keys.

Record key ``tenant/<name>`` or ``key/<key_id>``; value one of the Structs below
as JSON (tagged by ``kind``). Only the SHA-256 of a key is ever stored.
"""

from __future__ import annotations

import re

import msgspec

TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class TenantRecord(msgspec.Struct, tag="tenant", tag_field="kind"):
    name: str
    created_at: str


class KeyRecord(msgspec.Struct, tag="key", tag_field="kind"):
    key_id: str  # public, shown in listings; derived from the hash
    tenant: str
    key_hash: str  # hex SHA-256 of the whole key
    created_at: str
    environment: str = "production"
    revoked_at: str | None = None


RegistryRecord = TenantRecord | KeyRecord

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(RegistryRecord)


def record_key(record: RegistryRecord) -> bytes:
    if isinstance(record, TenantRecord):
        return f"tenant/{record.name}".encode()
    return f"key/{record.key_id}".encode()


def encode(record: RegistryRecord) -> bytes:
    return _encoder.encode(record)


def decode(value: bytes) -> RegistryRecord:
    return _decoder.decode(value)
