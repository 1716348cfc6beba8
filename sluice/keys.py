"""API keys: generation, hashing and constant-time lookup.

Keys are 256 bits of randomness, so a plain SHA-256 is the right hash (a slow
password hash protects low-entropy secrets; it would only cost latency here).
Only hashes are stored or held in memory.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timezone

from schemas.registry import TENANT_NAME, KeyRecord, RegistryRecord, TenantRecord

DEFAULT_PREFIX = "slk_"


def generate_key(prefix: str = DEFAULT_PREFIX) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key_hash: str) -> str:
    """The public id of a key: a prefix of its hash, safe to show and log."""
    return key_hash[:12]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def validate_tenant_name(name: str) -> str:
    if not TENANT_NAME.match(name):
        raise ValueError(
            f"invalid tenant name {name!r}: use 1-63 lower-case letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return name


def new_key(tenant: str, prefix: str = DEFAULT_PREFIX) -> tuple[str, KeyRecord]:
    """A fresh key and the record to store for it. The key itself is returned once."""
    key = generate_key(prefix)
    digest = hash_key(key)
    return key, KeyRecord(key_id=key_id_of(digest), tenant=tenant, key_hash=digest, created_at=now_iso())


class Registry:
    """The current tenants and keys, folded from registry records in topic order."""

    def __init__(self) -> None:
        self.tenants: dict[str, TenantRecord] = {}
        self.keys: dict[str, KeyRecord] = {}  # by key_id
        self._active: dict[str, KeyRecord] = {}  # by key_hash, revoked keys left out

    def apply(self, record: RegistryRecord) -> None:
        if isinstance(record, TenantRecord):
            self.tenants[record.name] = record
            return
        self.keys[record.key_id] = record
        if record.revoked_at is None:
            self._active[record.key_hash] = record
        else:
            self._active.pop(record.key_hash, None)

    def authenticate(self, presented: str) -> KeyRecord | None:
        """The active key record matching ``presented``, or None.

        The dictionary is keyed by the hash, never by the key, and the final
        comparison is constant-time, so response timing says nothing about how
        much of a guess was right.
        """
        digest = hash_key(presented)
        record = self._active.get(digest)
        if record is not None and hmac.compare_digest(record.key_hash, digest):
            return record
        return None
