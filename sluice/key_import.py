"""Existing keys brought over unchanged: each dialect's key format and the environment it implies.

A team moving from one of the hosted services keeps its senders' keys:
``sluice keys import`` and ``POST /v1/keys/import`` take one key exactly as the
service issued it, check it against that service's documented shape, and
store its SHA-256 like a generated key (sluice/keys.py), so the same lookup,
revocation, expiry, per-tenant cap and rate limits apply to it.

=============================== ==============================================
dialect                         accepted key
=============================== ==============================================
``logtrace``                    ``lt_live_`` or ``lt_test_`` and 32 hex digits
                                (logtrace.txt's example key)
``logflux``                     ``lf_`` then visible ASCII, 16 characters or
                                more in all (logflux.txt: "must start with lf_")
``astralog``, ``loginformant``, any 16 or more visible ASCII characters: no
``profound``                    space, no control or non-ASCII character
=============================== ==============================================

Every key is at most ``MAX_LENGTH`` characters. A LogTrace key names its
environment: ``lt_live_`` is production, ``lt_test_`` staging (or development
when asked), so a gateway bound to one environment refuses the other's keys
with its usual 403 and no extra header.

Why 16: the shortest tokens the services' docs show (``my-secret-token``) are
about that long; shorter ones are guessable online. An imported key is only as
secret as it was: a plain SHA-256 suits generated keys' 256 random bits, while
a short human-chosen token could be found from a leaked registry by guessing,
so teams should move to generated keys once their senders allow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.registry import ENVIRONMENTS, KeyRecord
from sluice.keys import key_record

#: The dialects whose keys can be imported, in the order the CLI lists them.
DIALECTS = ("logtrace", "logflux", "astralog", "loginformant", "profound")
MIN_LENGTH = 16
# Far above any key the services issue, far below the gateway's header limit.
MAX_LENGTH = 1024
_LOGTRACE = re.compile(r"lt_(live|test)_[0-9a-fA-F]{32}")
_VISIBLE = re.compile(r"[!-~]*")  # printable ASCII without the space


@dataclass(frozen=True)
class KeyImportError(ValueError):
    """Why a key cannot be imported: an HTTP status, a machine-readable code and a message.

    The message never contains the key: it is shown on terminals, in API
    answers and in logs.
    """

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.message} ({self.code})"


def check_format(dialect: str, key: str) -> None:
    """Nothing if ``key`` has ``dialect``'s documented shape; otherwise the ``KeyImportError`` saying why."""
    if dialect not in DIALECTS:
        raise KeyImportError(400, "unknown_key_format",
                             f"Keys of format {dialect!r} cannot be imported; use one of {', '.join(DIALECTS)}.")
    if not key:
        raise KeyImportError(400, "missing_key", "No key was given; send the one key to import.")
    if not _VISIBLE.fullmatch(key):
        raise KeyImportError(400, "key_invalid_characters",
                             "The key holds a space, a control or a non-ASCII character; a key is visible "
                             "ASCII only (check for a stray quote or line break).")
    if len(key) > MAX_LENGTH:
        raise KeyImportError(400, "key_too_long", f"The key has {len(key)} characters; at most {MAX_LENGTH} are "
                                                  "accepted.")
    if dialect == "logtrace":
        if not _LOGTRACE.fullmatch(key):
            raise KeyImportError(400, "invalid_logtrace_key",
                                 f"A LogTrace key is lt_live_ or lt_test_ followed by 32 hexadecimal digits; this "
                                 f"one has {len(key)} characters and does not match.")
        return
    if dialect == "logflux" and not key.startswith("lf_"):
        raise KeyImportError(400, "invalid_logflux_key", "A LogFlux key starts with lf_; this one does not.")
    if len(key) < MIN_LENGTH:
        raise KeyImportError(400, "key_too_short", f"The key has {len(key)} characters; an imported key needs at "
                                                   f"least {MIN_LENGTH}.")


def environment_for(dialect: str, key: str, requested: str | None, default: str) -> str:
    """The environment an imported key works in.

    A LogTrace key's prefix decides: ``lt_live_`` production only,
    ``lt_test_`` staging or development (``requested``, else ``default`` when
    it is not production, else staging). Any other key works in ``requested``,
    else ``default``. A request the prefix contradicts is a ``KeyImportError``.
    """
    if requested is not None and requested not in ENVIRONMENTS:
        raise KeyImportError(400, "invalid_environment",
                             f"Unknown environment {requested!r}; use one of {', '.join(ENVIRONMENTS)}.")
    if dialect != "logtrace":
        return requested or default
    if key.startswith("lt_live_"):
        if requested not in (None, "production"):
            raise KeyImportError(400, "environment_conflict",
                                 f"An lt_live_ key is a production key; it cannot be imported into {requested}.")
        return "production"
    if requested == "production":
        raise KeyImportError(400, "environment_conflict",
                             "An lt_test_ key is a staging or development key; it cannot be imported into "
                             "production.")
    return requested or (default if default != "production" else "staging")


def imported_record(tenant: str, dialect: str, key: str, *, requested_environment: str | None,
                    default_environment: str, scopes: tuple[str, ...], expires_at: str | None) -> KeyRecord:
    """The record to store for an existing ``key`` of ``dialect``, after checking its shape.

    Raises ``KeyImportError`` for a key or environment the dialect does not
    allow, and ``ValueError`` (from sluice/keys.py) for unknown scopes or a bad
    expiry.
    """
    check_format(dialect, key)
    environment = environment_for(dialect, key, requested_environment, default_environment)
    return key_record(tenant, key, environment=environment, scopes=scopes, expires_at=expires_at)


def refuse_taken(known: dict[str, KeyRecord], record: KeyRecord) -> None:
    """A 409 ``KeyImportError`` when ``record``'s id is held by any key, live or revoked, of any tenant.

    The registry topic is compacted by key id, so storing it would replace
    that key: revive a revoked key, or move a key to another tenant. The same
    key hashes to the same id, so this is also the duplicate check. The
    message names neither the key nor its holder.
    """
    existing = known.get(record.key_id)
    if existing is None:
        return
    if existing.key_hash != record.key_hash:  # two keys whose hashes share their first 48 bits
        raise KeyImportError(409, "key_exists", "Another key already holds this key's id; this key cannot be "
                                                "imported. Generate a new key instead.")
    raise KeyImportError(409, "key_exists", "This key is already registered; an import never replaces or revives "
                                            "a key. If it is revoked or another tenant's, give the sender a new key.")

