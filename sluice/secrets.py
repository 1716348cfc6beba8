"""Tenants' encryption secrets: sealing with the master key, the in-memory store, the CLI's operations.

Rotation: a tenant may hold several secrets; entries are tried against the
newest first, and an old secret stays valid until it is removed.
"""

from __future__ import annotations

import base64
import os
import secrets as random
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from schemas import secrets as records
from schemas.secrets import SecretRecord
from sluice.follower import CompactedFollower, publish_to
from sluice.keys import now_iso
from sluice import private
from sluice.settings import Settings


class MasterKeyError(RuntimeError):
    pass


def master_key(settings: Settings, create: bool = False) -> bytes:
    """The 32-byte master key: ``SLUICE_SECRETS_KEY`` (base64), else ``<state_dir>/secrets.key``,
    created with mode 0600 on first use when ``create``."""
    if settings.secrets_key:
        key = _decode(str(settings.secrets_key))
    else:
        path = Path(settings.state_dir) / "secrets.key"
        if not path.exists():
            if not create:
                raise MasterKeyError(f"no master key: set SLUICE_SECRETS_KEY or create {path} with `sluice secrets add`")
            _create_key_file(path)
        key = _decode(path.read_text().strip())
    if len(key) != 32:
        raise MasterKeyError("the master key must be 32 bytes, base64-encoded")
    return key


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise MasterKeyError("the master key must be 32 bytes, base64-encoded") from None


def _create_key_file(path: Path) -> None:
    """Write a new key to ``path``; if another process won the race, keep its key."""
    private.create_once(path, base64.b64encode(AESGCM.generate_key(256)).decode())


def _aad(tenant: str, version: int) -> bytes:
    return f"{tenant}/{version}".encode()


def seal(master: bytes, tenant: str, version: int, secret: bytes) -> str:
    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(master).encrypt(nonce, secret, _aad(tenant, version))).decode()


def unseal(master: bytes, record: SecretRecord) -> bytes:
    raw = base64.b64decode(record.sealed)
    try:
        return AESGCM(master).decrypt(raw[:12], raw[12:], _aad(record.tenant, record.version))
    except InvalidTag:
        raise MasterKeyError(
            f"secret {record.tenant}/{record.version} was sealed with another master key; "
            "give every worker and the CLI the same SLUICE_SECRETS_KEY") from None


class SecretStore:
    """Active secrets by tenant, newest first, unsealed in memory."""

    def __init__(self, master: bytes | None):
        self.master = master
        self.records: dict[tuple[str, int], SecretRecord] = {}
        self._active: dict[str, list[tuple[int, bytes]]] = {}

    def apply(self, record: SecretRecord) -> None:
        self.records[(record.tenant, record.version)] = record
        versions = [v for v in self._active.get(record.tenant, []) if v[0] != record.version]
        if record.removed_at is None and self.master is not None:
            versions.append((record.version, unseal(self.master, record)))
        self._active[record.tenant] = sorted(versions, reverse=True)

    def for_tenant(self, tenant: str) -> list[tuple[int, bytes]]:
        return self._active.get(tenant, [])


class SecretsFollower(CompactedFollower):
    def __init__(self, settings: Settings, store: SecretStore):
        self.store = store
        super().__init__(settings, settings.secrets_topic, lambda value: store.apply(records.decode(value)))


async def load(settings: Settings, master: bytes | None = None) -> SecretStore:
    follower = SecretsFollower(settings, SecretStore(master))
    await follower.start()
    await follower.stop()
    return follower.store


async def add(settings: Settings, tenant: str, secret: bytes) -> int:
    """Store a new secret for ``tenant``; return its version."""
    master = master_key(settings, create=True)
    store = await load(settings)
    version = 1 + max((v for t, v in store.records if t == tenant), default=0)
    record = SecretRecord(tenant, version, seal(master, tenant, version, secret), now_iso())
    await publish_to(settings, settings.secrets_topic, [(record.key, records.encode(record))])
    return version


async def remove(settings: Settings, tenant: str, version: int) -> bool:
    store = await load(settings)
    record = store.records.get((tenant, version))
    if record is None or record.removed_at is not None:
        return False
    removed = msgspec.structs.replace(record, removed_at=now_iso())
    await publish_to(settings, settings.secrets_topic, [(removed.key, records.encode(removed))])
    return True


def generate() -> str:
    return random.token_urlsafe(32)
