"""Records of the compacted registry topic: tenants and their API keys.

Record key ``tenant/<name>`` or ``key/<key_id>``; value one of the Structs below
as JSON (tagged by ``kind``). Only the SHA-256 of a key is ever stored.
"""

from __future__ import annotations

import re

import msgspec

TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

#: A key works in exactly one of these; a request naming another gets a 403.
ENVIRONMENTS = ("production", "staging", "development")
WRITE, READ, ADMIN = "write:logs", "read:logs", "admin:keys"
#: ``admin:keys`` manages the tenant's own keys over ``/v1/keys``.
SCOPES = (WRITE, READ, ADMIN)
#: Rate-limit tiers (limits in the settings); ``unlimited`` is for trusted internal senders.
TIERS = ("standard", "enterprise", "unlimited")


class TenantRecord(msgspec.Struct, tag="tenant", tag_field="kind"):
    name: str
    created_at: str
    tier: str = "standard"


class KeyRecord(msgspec.Struct, tag="key", tag_field="kind"):
    key_id: str  # public, shown in listings; derived from the hash
    tenant: str
    key_hash: str  # hex SHA-256 of the whole key
    created_at: str
    environment: str = "production"
    revoked_at: str | None = None
    # Records written before scopes existed keep working as write+read keys.
    scopes: tuple[str, ...] = (WRITE, READ)
    # ISO 8601 with a timezone; None never expires.
    expires_at: str | None = None


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
