"""API keys: generation, hashing and constant-time lookup.

Keys are 256 bits of randomness, so a plain SHA-256 is the right hash (a slow
password hash protects low-entropy secrets; it would only cost latency here).
Only hashes are stored or held in memory. Keys imported from another service
(sluice/key_import.py) are hashed and found the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import datetime, timezone

from schemas.registry import (ENVIRONMENTS, READ, SCOPES, TENANT_NAME, TIERS, WRITE, KeyRecord, RegistryRecord,
                              TenantRecord)

DEFAULT_PREFIX = "slk_"
#: Key formats by dialect convention; every one carries the same 256 random bits.
FORMATS = ("plain", "logflux", "logtrace")


def prefix_for(key_format: str, environment: str) -> str:
    """``lf_`` for LogFlux, ``lt_live_``/``lt_test_`` for LogTrace (live only in production), else ``slk_``."""
    if key_format == "logflux":
        return "lf_"
    if key_format == "logtrace":
        return "lt_live_" if environment == "production" else "lt_test_"
    if key_format == "plain":
        return DEFAULT_PREFIX
    raise ValueError(f"unknown key format {key_format!r}: use one of {', '.join(FORMATS)}")


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


def parse_instant(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 instant that names its timezone."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no timezone; add Z or an offset such as +00:00")
    return moment.timestamp()


def new_key(tenant: str, prefix: str = DEFAULT_PREFIX, *, environment: str = "production",
            scopes: tuple[str, ...] = (WRITE, READ), expires_at: str | None = None) -> tuple[str, KeyRecord]:
    """A fresh key and the record to store for it. The key itself is returned once.

    Raises ``ValueError`` as ``key_record`` does.
    """
    key = generate_key(prefix)
    return key, key_record(tenant, key, environment=environment, scopes=scopes, expires_at=expires_at)


def key_record(tenant: str, key: str, *, environment: str, scopes: tuple[str, ...],
               expires_at: str | None) -> KeyRecord:
    """The record to store for ``key``, generated or imported (sluice/key_import.py): its hash, never the key.

    Raises ``ValueError`` naming the problem for an unknown environment or
    scope, or an expiry that is not an ISO 8601 instant with a timezone.
    """
    if environment not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {environment!r}: use one of {', '.join(ENVIRONMENTS)}")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"unknown or no scopes {unknown}: use some of {', '.join(SCOPES)}")
    if expires_at is not None:
        parse_instant(expires_at)
    digest = hash_key(key)
    return KeyRecord(key_id=key_id_of(digest), tenant=tenant, key_hash=digest, created_at=now_iso(),
                     environment=environment, scopes=tuple(sorted(set(scopes))), expires_at=expires_at)


#: The longest a key may live (ten years): an expiry further ahead is refused.
MAX_LIFETIME_S = 3653 * 86400
_DURATION = re.compile(r"([0-9]{1,15})([mhd])")
_UNITS = {"m": 60, "h": 3600, "d": 86400}


def expires_at(text: str | None, now: float | None = None) -> str | None:
    """An expiry given as an ISO 8601 instant, or as a duration from now (``90m``, ``12h``, ``30d``).

    Raises ``ValueError`` naming the problem for anything else, and for an
    expiry not in the future or more than ten years (``MAX_LIFETIME_S``) ahead.
    """
    if not text:
        return None
    now = time.time() if now is None else now
    duration = _DURATION.fullmatch(text)
    if duration:
        seconds = int(duration[1]) * _UNITS[duration[2]]
        if not 0 < seconds <= MAX_LIFETIME_S:
            raise ValueError(f"{text!r} is not between 1m and {MAX_LIFETIME_S // 86400}d")
        return datetime.fromtimestamp(now + seconds, timezone.utc).isoformat(timespec="seconds")
    try:
        moment = parse_instant(text)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{text!r} is neither a duration such as 30d nor an ISO 8601 instant ({exc})") from None
    if not now < moment <= now + MAX_LIFETIME_S:
        raise ValueError(f"{text!r} is not in the future and at most {MAX_LIFETIME_S // 86400} days ahead")
    return text


def validate_tier(tier: str) -> str:
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}: use one of {', '.join(TIERS)}")
    return tier


class Registry:
    """The current tenants and keys, folded from registry records in topic order."""

    def __init__(self) -> None:
        self.tenants: dict[str, TenantRecord] = {}
        self.keys: dict[str, KeyRecord] = {}  # by key_id
        self._active: dict[str, KeyRecord] = {}  # by key_hash, revoked keys left out
        self._expiry: dict[str, float] = {}  # by key_hash, keys that expire

    def apply(self, record: RegistryRecord) -> None:
        if isinstance(record, TenantRecord):
            self.tenants[record.name] = record
            return
        self.keys[record.key_id] = record
        if record.revoked_at is None:
            self._active[record.key_hash] = record
            if record.expires_at is not None:
                self._expiry[record.key_hash] = parse_instant(record.expires_at)
        else:
            self._active.pop(record.key_hash, None)
            self._expiry.pop(record.key_hash, None)

    def authenticate(self, presented: str, now: float | None = None) -> KeyRecord | None:
        """The active, unexpired key record matching ``presented``, or None.

        The dictionary is keyed by the hash, never by the key, and the final
        comparison is constant-time, so response timing says nothing about how
        much of a guess was right.
        """
        digest = hash_key(presented)
        record = self._active.get(digest)
        if record is None or not hmac.compare_digest(record.key_hash, digest):
            return None
        expiry = self._expiry.get(digest)
        if expiry is not None and (time.time() if now is None else now) >= expiry:
            return None
        return record

    def active_keys(self, tenant: str, now: float | None = None) -> int:
        """How many of ``tenant``'s keys, in any environment, are neither revoked nor expired."""
        now = time.time() if now is None else now
        return sum(1 for digest, record in self._active.items()
                   if record.tenant == tenant and self._expiry.get(digest, now + 1) > now)

    def tier(self, tenant: str) -> str:
        record = self.tenants.get(tenant)
        return record.tier if record is not None else "standard"
