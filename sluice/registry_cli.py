"""``sluice tenants`` and ``sluice keys``: the registry topic's records, written by the operator.

Every change is a record published to the registry topic (sluice/registry.py),
which every gateway follows; a read loads the topic whole. A new key is shown
once, alone on stdout (``KEY=$(sluice keys create --tenant t)``); a listing
shows key ids and states, never a key. ``keys import`` is sluice/keys_cli.py.
Exit 1 for a tenant or key id that does not exist.
"""

from __future__ import annotations

import asyncio
import sys

from schemas.registry import ENVIRONMENTS, READ, SCOPES, TIERS, WRITE, TenantRecord
from sluice import keys_cli
from sluice import registry as registry_topic
from sluice.keys import FORMATS, expires_at, new_key, now_iso, prefix_for, validate_tenant_name, validate_tier
from sluice.settings import Settings


def add_tenants(sub) -> None:
    t = sub.add_parser("tenants", help="manage tenants")
    ts = t.add_subparsers(dest="action", required=True)
    tc = ts.add_parser("create", help="create a tenant")
    tc.add_argument("name")
    tc.add_argument("--tier", default="standard", choices=TIERS, help="rate-limit tier (see the settings)")
    tt = ts.add_parser("set-tier", help="move a tenant to another rate-limit tier")
    tt.add_argument("name")
    tt.add_argument("tier", choices=TIERS)
    ts.add_parser("list", help="list tenants and their tiers")
    t.set_defaults(fn=run_tenants)


def add_keys(sub) -> None:
    k = sub.add_parser("keys", help="manage API keys")
    ks = k.add_subparsers(dest="action", required=True)
    kc = ks.add_parser("create", help="create a key and print it")
    kc.add_argument("--tenant", required=True)
    kc.add_argument("--format", default="plain", choices=FORMATS,
                    help="plain (slk_...), logflux (lf_..., required by LogFlux endpoints) or logtrace (lt_live_/lt_test_)")
    kc.add_argument("--environment", default="production", choices=ENVIRONMENTS)
    kc.add_argument("--scope", action="append", choices=SCOPES,
                    help="repeat for several; default write:logs and read:logs")
    kc.add_argument("--expires", help="an ISO 8601 instant with a timezone, or a duration such as 30d or 12h")
    kl = ks.add_parser("list", help="list keys (ids, never the keys)")
    kl.add_argument("--tenant")
    kr = ks.add_parser("revoke", help="revoke a key by id")
    kr.add_argument("key_id")
    keys_cli.add_parser(ks)
    k.set_defaults(fn=run_keys)


def run_tenants(s: Settings, args) -> int:
    if args.action == "create":
        name = validate_tenant_name(args.name)
        asyncio.run(registry_topic.publish(s, TenantRecord(name, now_iso(), validate_tier(args.tier))))
        print(name)
        return 0
    registry = asyncio.run(registry_topic.load_registry(s))
    if args.action == "set-tier":
        record = registry.tenants.get(args.name)
        if record is None:
            print(f"sluice: no tenant named {args.name}", file=sys.stderr)
            return 1
        import msgspec
        asyncio.run(registry_topic.publish(s, msgspec.structs.replace(record, tier=validate_tier(args.tier))))
        print(f"tenant {args.name} is now on the {args.tier} tier")
        return 0
    for tenant in sorted(registry.tenants.values(), key=lambda t: t.name):
        print(f"{tenant.name}\t{tenant.tier}")
    return 0


def run_keys(s: Settings, args) -> int:
    if args.action == "import":
        return keys_cli.run(s, args)
    if args.action == "create":
        tenant = validate_tenant_name(args.tenant)
        registry = asyncio.run(registry_topic.load_registry(s))
        records = [] if tenant in registry.tenants else [TenantRecord(tenant, now_iso())]
        key, record = new_key(tenant, prefix_for(args.format, args.environment), environment=args.environment,
                              scopes=tuple(args.scope or (WRITE, READ)), expires_at=expires_at(args.expires))
        asyncio.run(registry_topic.publish(s, *records, record))
        print(key)  # the key alone on stdout: KEY=$(sluice keys create --tenant t)
        print(f"key id {record.key_id} for tenant {tenant}; it is shown only once", file=sys.stderr)
        return 0
    registry = asyncio.run(registry_topic.load_registry(s))
    if args.action == "list":
        for k in sorted(registry.keys.values(), key=lambda k: (k.tenant, k.created_at)):
            if args.tenant and k.tenant != args.tenant:
                continue
            state = f"revoked {k.revoked_at}" if k.revoked_at else (
                f"expires {k.expires_at}" if k.expires_at else "active")
            print(f"{k.key_id}\t{k.tenant}\t{k.environment}\t{','.join(k.scopes)}\t{k.created_at}\t{state}")
        return 0
    record = registry.keys.get(args.key_id)
    if record is None:
        print(f"sluice: no key with id {args.key_id}", file=sys.stderr)
        return 1
    import msgspec
    asyncio.run(registry_topic.publish(s, msgspec.structs.replace(record, revoked_at=now_iso())))
    print(f"revoked {args.key_id}")
    return 0
