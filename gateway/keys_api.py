"""``/v1/keys``: a tenant manages its own API keys with an ``admin:keys`` key.

``GET /v1/keys`` lists the tenant's keys in the admin key's environment (ids
and attributes, never a key); ``POST /v1/keys`` creates one there and returns
it once; ``DELETE /v1/keys/<key_id>`` revokes one. A key id of another tenant
or environment answers 404, as if it did not exist. Changes go to the registry
topic, so every gateway replica sees them within about a second; this one
applies them at once.
"""

from __future__ import annotations

import msgspec

from gateway.errors import ApiError
from gateway.publisher import Publisher
from schemas import registry as records
from schemas.registry import READ, WRITE, KeyRecord
from sluice.keys import Registry, expires_at, new_key, now_iso, prefix_for

PREFIX = "/v1/keys"


class CreateKey(msgspec.Struct, forbid_unknown_fields=True):
    scopes: list[str] = msgspec.field(default_factory=lambda: [WRITE, READ])
    # plain, logflux or logtrace: the key's prefix follows the dialect's convention
    format: str = "plain"
    # an ISO 8601 instant with a timezone, or a duration such as "30d"
    expires: str | None = None


def describe(record: KeyRecord) -> dict:
    return {"key_id": record.key_id, "environment": record.environment, "scopes": list(record.scopes),
            "created_at": record.created_at, "expires_at": record.expires_at, "revoked_at": record.revoked_at}


async def handle(method: str, path: str, body: bytes, admin: KeyRecord, registry: Registry,
                 publisher: Publisher, registry_topic: str) -> tuple[int, bytes]:
    """(status, body) for one key-management request by an authorized ``admin`` key."""
    own = {k.key_id: k for k in registry.keys.values()
           if k.tenant == admin.tenant and k.environment == admin.environment}
    if path == PREFIX and method == "GET":
        listed = [describe(k) for k in sorted(own.values(), key=lambda k: k.created_at)]
        return 200, msgspec.json.encode({"keys": listed})
    if path == PREFIX and method == "POST":
        try:
            wanted = msgspec.json.decode(body or b"{}", type=CreateKey)
            key, record = new_key(admin.tenant, prefix_for(wanted.format, admin.environment),
                                  environment=admin.environment, scopes=tuple(wanted.scopes),
                                  expires_at=expires_at(wanted.expires))
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError, RecursionError) as exc:
            raise ApiError(400, "invalid_request", f"Bad key request: {exc}") from None
        await _store(record, registry, publisher, registry_topic)
        return 201, msgspec.json.encode({"key": key, **describe(record)})
    key_id = path[len(PREFIX) + 1:] if path.startswith(PREFIX + "/") else ""
    if key_id and method == "DELETE":
        record = own.get(key_id)
        if record is None:
            raise ApiError(404, "key_not_found", f"This tenant has no key {key_id!r} in this environment.")
        if record.revoked_at is None:
            record = msgspec.structs.replace(record, revoked_at=now_iso())
            await _store(record, registry, publisher, registry_topic)
        return 200, msgspec.json.encode(describe(record))
    allowed = "GET, POST" if path == PREFIX else "DELETE"
    raise ApiError(405, "method_not_allowed", f"Use {allowed} on this path.", ((b"allow", allowed.encode()),))


async def _store(record: KeyRecord, registry: Registry, publisher: Publisher, topic: str) -> None:
    await publisher.put(topic, records.record_key(record), records.encode(record))
    registry.apply(record)
