"""``/v1/keys``: a tenant manages its own API keys with an ``admin:keys`` key.

``GET /v1/keys`` lists the tenant's keys in the admin key's environment (ids
and attributes, never a key); ``POST /v1/keys`` creates one there and returns
it once; ``POST /v1/keys/import`` registers an existing key of another service
unchanged (sluice/key_import.py: its format, its environment; 409 for a key
already registered, never echoing it); ``DELETE /v1/keys/<key_id>`` revokes one. A key id of another tenant
or environment answers 404, as if it did not exist. Changes go to the registry
topic, so every gateway replica sees them within about a second; this one
applies them at once.

A key never creates a key stronger than itself: its scopes are a subset of
the creator's, its environment is the creator's (every key has exactly one,
gateway/auth.py), and it expires no later than the creator does (never only
if the creator never does); otherwise 403. A tenant holds at most
``max_keys_per_tenant`` live keys; one more is 409.
"""

from __future__ import annotations

import asyncio

import msgspec

from gateway.errors import ApiError
from gateway.publisher import Publisher
from schemas import registry as records
from schemas.registry import READ, WRITE, KeyRecord
from sluice import key_import
from sluice.keys import Registry, expires_at, new_key, now_iso, parse_instant, prefix_for
from sluice.settings import Settings

PREFIX = "/v1/keys"
IMPORT = PREFIX + "/import"


class CreateKey(msgspec.Struct, forbid_unknown_fields=True):
    scopes: list[str] = msgspec.field(default_factory=lambda: [WRITE, READ])
    # plain, logflux or logtrace: the key's prefix follows the dialect's convention
    format: str = "plain"
    # an ISO 8601 instant with a timezone, or a duration such as "30d"; at most ten years ahead
    expires: str | None = None
    # the creating key's own environment (the only one allowed); omitted: the same
    environment: str | None = None


class ImportKey(msgspec.Struct, forbid_unknown_fields=True):
    # the existing key or token, exactly as the other service issued it; never echoed back
    key: str
    # the service that issued it: logtrace, logflux, astralog, loginformant or profound
    format: str
    scopes: list[str] = msgspec.field(default_factory=lambda: [WRITE, READ])
    # an ISO 8601 instant with a timezone, or a duration such as "30d"; at most ten years ahead
    expires: str | None = None
    # omitted: the admin key's own (the only one allowed); a LogTrace key's prefix names its own
    environment: str | None = None


def describe(record: KeyRecord) -> dict:
    return {"key_id": record.key_id, "environment": record.environment, "scopes": list(record.scopes),
            "created_at": record.created_at, "expires_at": record.expires_at, "revoked_at": record.revoked_at}


def check_mint(creator: KeyRecord, record: KeyRecord) -> None:
    """The 403 to answer when ``record`` would be stronger than the key that creates it."""
    beyond = sorted(set(record.scopes) - set(creator.scopes))
    if beyond:
        raise ApiError(403, "scope_exceeds_creator",
                       f"This key cannot grant scopes it lacks itself: {', '.join(beyond)}.")
    if record.environment != creator.environment:
        raise ApiError(403, "environment_exceeds_creator",
                       f"This key belongs to {creator.environment}; it creates keys there only.")
    if creator.expires_at is not None and (
            record.expires_at is None or parse_instant(record.expires_at) > parse_instant(creator.expires_at)):
        raise ApiError(403, "expiry_exceeds_creator",
                       f"This key expires at {creator.expires_at}; send an expires no later than that.")


class KeyAdmin:
    """Key management on one gateway process: reads its registry, writes the registry topic."""

    def __init__(self, settings: Settings, registry: Registry, publisher: Publisher):
        self.settings, self.registry, self.publisher = settings, registry, publisher
        # Creating is count-then-store across a Kafka round trip; one at a time keeps the count true here.
        self._creating = asyncio.Lock()

    async def handle(self, method: str, path: str, body: bytes, admin: KeyRecord) -> tuple[int, bytes]:
        """(status, body) for one key-management request by an authorized ``admin`` key."""
        own = {k.key_id: k for k in self.registry.keys.values()
               if k.tenant == admin.tenant and k.environment == admin.environment}
        if path == PREFIX and method == "GET":
            listed = [describe(k) for k in sorted(own.values(), key=lambda k: k.created_at)]
            return 200, msgspec.json.encode({"keys": listed})
        if path == PREFIX and method == "POST":
            return await self._create(body, admin)
        if path == IMPORT:
            if method != "POST":
                raise ApiError(405, "method_not_allowed", "Use POST on this path.", ((b"allow", b"POST"),))
            return await self._import(body, admin)
        key_id = path[len(PREFIX) + 1:] if path.startswith(PREFIX + "/") else ""
        if key_id and method == "DELETE":
            record = own.get(key_id)
            if record is None:
                raise ApiError(404, "key_not_found", f"This tenant has no key {key_id!r} in this environment.")
            if record.revoked_at is None:
                record = msgspec.structs.replace(record, revoked_at=now_iso())
                await self._store(record)
            return 200, msgspec.json.encode(describe(record))
        allowed = "GET, POST" if path == PREFIX else "DELETE"
        raise ApiError(405, "method_not_allowed", f"Use {allowed} on this path.", ((b"allow", allowed.encode()),))

    async def _create(self, body: bytes, admin: KeyRecord) -> tuple[int, bytes]:
        wanted, expiry = _request(body, CreateKey, "Bad key request")
        try:
            environment = wanted.environment or admin.environment
            key, record = new_key(admin.tenant, prefix_for(wanted.format, environment), environment=environment,
                                  scopes=tuple(wanted.scopes), expires_at=expiry)
        except ValueError as exc:
            raise ApiError(400, "invalid_request", f"Bad key request: {exc}") from None
        check_mint(admin, record)
        async with self._creating:
            self._check_cap(admin.tenant)
            await self._store(record)
        return 201, msgspec.json.encode({"key": key, **describe(record)})

    async def _import(self, body: bytes, admin: KeyRecord) -> tuple[int, bytes]:
        wanted, expiry = _request(body, ImportKey, "Bad key import")
        try:
            record = key_import.imported_record(
                admin.tenant, wanted.format, wanted.key.strip(), requested_environment=wanted.environment,
                default_environment=admin.environment, scopes=tuple(wanted.scopes), expires_at=expiry)
        except key_import.KeyImportError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
        except ValueError as exc:  # unknown scopes: the message names them, never the key
            raise ApiError(400, "invalid_request", f"Bad key import: {exc}") from None
        if record.environment != admin.environment:
            raise ApiError(403, "environment_exceeds_creator",
                           f"This key works in {record.environment}; import it with an admin key of "
                           f"{record.environment} (this one belongs to {admin.environment}).")
        check_mint(admin, record)
        async with self._creating:
            try:
                key_import.refuse_taken(self.registry.keys, record)
            except key_import.KeyImportError as exc:
                raise ApiError(exc.status, exc.code, exc.message) from None
            self._check_cap(admin.tenant)
            await self._store(record)
        return 201, msgspec.json.encode(describe(record))

    def _check_cap(self, tenant: str) -> None:
        live, limit = self.registry.active_keys(tenant), self.settings.max_keys_per_tenant
        if live >= limit:
            raise ApiError(409, "too_many_keys",
                           f"This tenant has {live} live keys across its environments, the most allowed "
                           f"({limit}); revoke one before creating another.")

    async def _store(self, record: KeyRecord) -> None:
        await self.publisher.put(self.settings.registry_topic, records.record_key(record), records.encode(record))
        self.registry.apply(record)


def _request(body: bytes, kind: type, what: str) -> tuple:
    """The decoded key request of type ``kind`` and its expiry instant; a 400 naming what is wrong."""
    try:
        wanted = msgspec.json.decode(body or b"{}", type=kind)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
        raise ApiError(400, "invalid_request", f"{what}: {exc}") from None
    try:
        return wanted, expires_at(wanted.expires)
    except ValueError as exc:
        raise ApiError(400, "invalid_expires", f"expires: {exc}.") from None
