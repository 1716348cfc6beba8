import os

import pytest

from schemas import secrets as records
from schemas.secrets import SecretRecord
from sluice.secrets import MasterKeyError, SecretStore, master_key, seal, unseal
from sluice.settings import load_settings


def record(master, tenant, version, secret, removed=None):
    return SecretRecord(tenant, version, seal(master, tenant, version, secret), "t", removed)


def test_sealed_secret_needs_the_master_key_and_its_own_name():
    master, other = os.urandom(32), os.urandom(32)
    r = record(master, "acme", 1, b"your-secret")
    assert b"your-secret" not in records.encode(r)
    assert unseal(master, records.decode(records.encode(r))) == b"your-secret"
    with pytest.raises(MasterKeyError, match="another master key"):
        unseal(other, r)
    moved = SecretRecord("evil", 1, r.sealed, "t")  # a sealed secret copied to another tenant
    with pytest.raises(MasterKeyError):
        unseal(master, moved)


def test_store_keeps_active_secrets_newest_first():
    master = os.urandom(32)
    store = SecretStore(master)
    store.apply(record(master, "acme", 1, b"one"))
    store.apply(record(master, "acme", 2, b"two"))
    store.apply(record(master, "other", 1, b"x"))
    assert store.for_tenant("acme") == [(2, b"two"), (1, b"one")]
    store.apply(record(master, "acme", 1, b"one", removed="now"))
    assert store.for_tenant("acme") == [(2, b"two")]
    assert store.for_tenant("nobody") == []


def test_master_key_file_is_created_once_with_private_mode(tmp_path):
    settings = load_settings({}, state_dir=tmp_path)
    with pytest.raises(MasterKeyError):
        master_key(settings)
    key = master_key(settings, create=True)
    assert len(key) == 32 and master_key(settings) == key
    assert (tmp_path / "secrets.key").stat().st_mode & 0o777 == 0o600
    assert list(tmp_path.iterdir()) == [tmp_path / "secrets.key"]
