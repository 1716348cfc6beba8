"""Who is calling, and may they: API key → tenant, environment and scopes.

401 when the key is missing, malformed, unknown, revoked or expired; 403 when
a valid key lacks the scope the endpoint needs or is used against another
environment. A request names its environment with the ``X-Sluice-Environment``
header; a gateway deployed for one environment (``gateway_environment``)
names it for every request it serves. A request that names none works in the
key's own environment, so data and queries never leave it either way.
"""

from __future__ import annotations

import re

from gateway import errors
from gateway.errors import ApiError
from schemas.dialect import AuthStyle  # re-exported: the gateway's handlers name it from here
from schemas.registry import ENVIRONMENTS, KeyRecord
from sluice.keys import Registry
from sluice.settings import Settings

ENVIRONMENT_HEADER = b"x-sluice-environment"


def credential(style: AuthStyle, headers: dict[bytes, bytes]) -> str:
    """The presented key, or a 401 saying where it belongs."""
    if style is AuthStyle.API_KEY or (style is AuthStyle.BEARER_OR_API_KEY and b"x-api-key" in headers):
        token = headers.get(b"x-api-key", b"").decode("latin-1").strip()
    else:
        raw = headers.get(b"authorization", b"").decode("latin-1").strip()
        scheme, _, rest = raw.partition(" ")
        if scheme.lower() == "bearer":
            token = rest.strip()
        elif style is AuthStyle.AUTHORIZATION:
            token = raw
        elif raw:
            raise ApiError(401, "invalid_auth_scheme", "Use the header Authorization: Bearer <API key>.")
        else:
            token = ""
    if not token:
        raise errors.missing_key(style.value)
    return token


def requested_environment(headers: dict[bytes, bytes], settings: Settings) -> str | None:
    """The environment the request names, or None; a 400 for an unknown one."""
    raw = headers.get(ENVIRONMENT_HEADER)
    if raw is None:
        return settings.gateway_environment or None
    name = raw.decode("latin-1").strip().lower()
    if name not in ENVIRONMENTS:
        raise ApiError(400, "invalid_environment",
                       f"X-Sluice-Environment must be one of {', '.join(ENVIRONMENTS)}.")
    if settings.gateway_environment and name != settings.gateway_environment:
        raise environment_mismatch(name, settings.gateway_environment)
    return name


def environment_mismatch(requested: str, key_environment: str) -> ApiError:
    return ApiError(403, "environment_mismatch",
                    f"This request is for the {requested} environment; the API key belongs to {key_environment}.")


def authorize(registry: Registry, style: AuthStyle, headers: dict[bytes, bytes], settings: Settings,
              scope: str | None, key_prefix: str = "") -> KeyRecord:
    """The key's record if it may do ``scope`` here; otherwise the 401 or 403 to answer.

    ``scope`` None: any valid key (the health endpoint).
    """
    token = credential(style, headers)
    if not token.startswith(key_prefix):
        raise errors.wrong_key_format(key_prefix)
    record = registry.authenticate(token)
    if record is None:
        raise errors.INVALID_KEY
    customer = customer_of(headers.get(b"host", b""))
    if customer is not None and customer != record.tenant:
        raise errors.wrong_customer(customer)
    if scope is not None and scope not in record.scopes:
        raise ApiError(403, "insufficient_scope", f"The API key lacks the {scope} scope this endpoint needs.")
    requested = requested_environment(headers, settings)
    if requested is not None and requested != record.environment:
        raise environment_mismatch(requested, record.environment)
    return record


_CUSTOMER_HOST = re.compile(rb"^([a-z0-9][a-z0-9-]*)\.ingest\.[a-z0-9-]+\.")


def customer_of(host: bytes) -> str | None:
    """The customer id of a host named ``<customer>.ingest.<region>.<domain>``, or None for a plain host."""
    match = _CUSTOMER_HOST.match(host.lower())
    return match.group(1).decode() if match else None
