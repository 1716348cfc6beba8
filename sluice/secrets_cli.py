"""``sluice secrets``: tenants' LogFlux encryption secrets (sluice/secrets.py), added, listed and removed.

A secret never travels on the command line: ``add`` reads it from stdin (a
prompt without echo on a terminal) or generates one and prints it once. A
listing shows versions and states, never a value. Exit 2 for an empty secret,
1 for a version that is not active.
"""

from __future__ import annotations

import asyncio
import sys

from sluice.keys import validate_tenant_name
from sluice.settings import Settings


def add_parser(sub) -> None:
    sc = sub.add_parser("secrets", help="tenants' LogFlux encryption secrets (never shown again)")
    scs = sc.add_subparsers(dest="action", required=True)
    sa = scs.add_parser("add", help="add a secret, read from stdin (or --generate one)")
    sa.add_argument("--tenant", required=True)
    sa.add_argument("--generate", action="store_true", help="generate a random secret and print it once")
    sl = scs.add_parser("list", help="versions and states, never values")
    sl.add_argument("--tenant")
    sr = scs.add_parser("remove", help="remove one version; entries encrypted with it stop verifying")
    sr.add_argument("--tenant", required=True)
    sr.add_argument("--version", type=int, required=True)
    sc.set_defaults(fn=run)


def run(s: Settings, args) -> int:
    from sluice import secrets
    if args.action == "add":
        tenant = validate_tenant_name(args.tenant)
        if args.generate:
            value = secrets.generate()
        elif sys.stdin.isatty():
            import getpass
            value = getpass.getpass("secret: ")
        else:
            value = sys.stdin.readline().rstrip("\n")
        if not value:
            print("sluice: empty secret", file=sys.stderr)
            return 2
        version = asyncio.run(secrets.add(s, tenant, value.encode()))
        if args.generate:
            print(value)  # shown once: configure it in the tenant's LogFlux SDK
        print(f"secret version {version} added for tenant {tenant}", file=sys.stderr)
        return 0
    store = asyncio.run(secrets.load(s))
    if args.action == "list":
        for (tenant, version), record in sorted(store.records.items()):
            if args.tenant in (None, tenant):
                state = f"removed {record.removed_at}" if record.removed_at else "active"
                print(f"{tenant}\t{version}\t{record.created_at}\t{state}")
        return 0
    if not asyncio.run(secrets.remove(s, args.tenant, args.version)):
        print(f"sluice: tenant {args.tenant} has no active secret version {args.version}", file=sys.stderr)
        return 1
    print(f"removed secret version {args.version} of tenant {args.tenant}")
    return 0
