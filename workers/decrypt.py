"""Decrypt-verify for LogFlux entries, with a bounded cache of derived keys.

One PBKDF2 derivation (600,000 iterations) costs about 0.1-0.2 s of CPU, so
keys are cached by (tenant, secret version, salt): a client that reuses its
salt for a session pays once. AES-GCM's tag proves the entry was encrypted
with the tenant's secret and not altered; an entry whose tag verifies under
none of the tenant's secrets is never stored.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from sluice import metrics

ITERATIONS = 600_000
# Bound once: labels() costs about as much as the cache lookup it counts.
_HITS, _MISSES = metrics.WORKER_KDF_CACHE.labels("hit"), metrics.WORKER_KDF_CACHE.labels("miss")


def derive(secret: bytes, salt: bytes, iterations: int = ITERATIONS) -> bytes:
    return PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations).derive(secret)


class DecryptError(ValueError):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


class KeyCache:
    """Least-recently-used derived keys; ``max_entries`` bounds memory (about 200 bytes each)."""

    def __init__(self, max_entries: int, derive_fn: Callable[[bytes, bytes], bytes] = derive):
        self.max_entries = max_entries
        self._derive = derive_fn
        # Each slot's cipher, and its key for the hot path (workers/logflux_hot.py), which decrypts in Rust.
        self._keys: OrderedDict[tuple[str, int, bytes], tuple[AESGCM, bytes]] = OrderedDict()
        self._lock = threading.Lock()  # the main and the slow lane share the cache

    def __contains__(self, slot: tuple[str, int, bytes]) -> bool:
        with self._lock:
            return slot in self._keys

    def cipher(self, tenant: str, version: int, secret: bytes, salt: bytes,
               before_derive: Callable[[], None] | None = None,
               run: Callable[..., bytes] | None = None) -> AESGCM:
        """The cached cipher, or one derived now: after ``before_derive`` and, when
        given, through ``run(derive, secret, salt)`` (the slow lane's thread)."""
        slot = (tenant, version, salt)
        with self._lock:
            found = self._keys.get(slot)
            if found is not None:
                self._keys.move_to_end(slot)
        if found is not None:
            _HITS.inc()
            return found[0]
        _MISSES.inc()
        if before_derive is not None:
            before_derive()
        started = time.perf_counter()
        key = run(self._derive, secret, salt) if run is not None else self._derive(secret, salt)
        cipher = AESGCM(key)  # derived outside the lock: it takes a while
        metrics.WORKER_KDF_SECONDS.observe(time.perf_counter() - started)
        with self._lock:
            self._keys[slot] = (cipher, key)
            if len(self._keys) > self.max_entries:
                self._keys.popitem(last=False)
        return cipher

    def cached(self, tenant: str, version: int, salt: bytes, count: bool = True) -> bytes | None:
        """The slot's derived key when it is cached (then the most recently used, and a hit when ``count``),
        else None: nothing is derived, nor counted as a miss (the caller that derives counts it)."""
        slot = (tenant, version, salt)
        with self._lock:
            found = self._keys.get(slot)
            if found is None:
                return None
            self._keys.move_to_end(slot)
        if count:
            _HITS.inc()
        return found[1]

    def __len__(self) -> int:
        return len(self._keys)


class Decryptor:
    """Tries a tenant's secrets, newest first; ``secrets_of`` gives (version, secret) pairs.
    ``before_derive`` (the slow lane's pacer) runs before every key derivation, and
    ``run_derive`` (the slow lane's low-priority thread) runs it."""

    def __init__(self, secrets_of: Callable[[str], list[tuple[int, bytes]]], cache: KeyCache,
                 before_derive: Callable[[], None] | None = None,
                 run_derive: Callable[..., bytes] | None = None):
        self.secrets_of = secrets_of
        self.cache = cache
        self.before_derive = before_derive
        self.run_derive = run_derive

    def derivations_needed(self, tenant: str, salts: set[bytes]) -> int:
        """How many of ``salts`` have no cached key for the tenant's newest secret."""
        candidates = self.secrets_of(tenant)
        if not candidates:
            return 0
        version = candidates[0][0]
        return sum((tenant, version, salt) not in self.cache for salt in salts)

    def decrypt(self, tenant: str, iv: bytes, salt: bytes, payload: bytes) -> bytes:
        return self.session(tenant).decrypt(iv, salt, payload)

    def cached_keys(self, tenant: str, salt: bytes) -> list[bytes] | None:
        """The derived keys of the tenant's secrets for ``salt``, newest first, as far as they are cached: what
        ``Session.decrypt`` would try before it derives one. None when the tenant has no secret or the newest
        secret's key is not cached: its entries need a derivation (or the slow lane).

        A hit is counted for the newest secret's key only, the one a session tries first."""
        keys: list[bytes] = []
        for version, _ in self.secrets_of(tenant):
            key = self.cache.cached(tenant, version, salt, count=not keys)
            if key is None:
                break
            keys.append(key)
        return keys or None

    def session(self, tenant: str) -> "Session":
        """Decrypting many entries of one tenant: see ``Session``."""
        return Session(self, tenant, self.secrets_of(tenant))


class Session:
    """One tenant's entries of one record: each (secret, salt) is looked up in the cache once.

    Entries of a session share their salt, so a batch of 100 costs one cache
    lookup (and one hit/miss count) per salt and secret tried, not 100.
    """

    def __init__(self, decryptor: Decryptor, tenant: str, candidates: list[tuple[int, bytes]]):
        self._decryptor, self._tenant, self._candidates = decryptor, tenant, candidates
        self._ciphers: dict[tuple[int, bytes], AESGCM] = {}

    def decrypt(self, iv: bytes, salt: bytes, payload: bytes) -> bytes:
        """The plaintext, or DecryptError: no secret, or a tag that verifies under none of them."""
        if not self._candidates:
            raise DecryptError("no_encryption_secret", f"tenant {self._tenant!r} has no encryption secret")
        for version, secret in self._candidates:
            cipher = self._ciphers.get((version, salt))
            if cipher is None:
                d = self._decryptor
                cipher = d.cache.cipher(self._tenant, version, secret, salt, d.before_derive, d.run_derive)
                self._ciphers[(version, salt)] = cipher
            try:
                return cipher.decrypt(iv, payload, None)
            except InvalidTag:
                continue
        raise DecryptError("decrypt_failed", f"the GCM tag verifies under none of tenant {self._tenant!r}'s "
                                             f"{len(self._candidates)} secret(s)")
