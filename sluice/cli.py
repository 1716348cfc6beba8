"""The ``sluice`` command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from schemas.registry import ENVIRONMENTS, READ, SCOPES, TIERS, WRITE, TenantRecord
from sluice import keys_cli, private
from sluice import registry as registry_topic
from sluice.keys import FORMATS, expires_at, new_key, now_iso, prefix_for, validate_tenant_name, validate_tier
from sluice.settings import Settings, load_settings


def _cmd_up(s: Settings, args) -> int:
    from sluice.local.topology import up, with_local_brokers
    s = with_local_brokers(s, s.local_brokers if args.brokers is None else args.brokers)
    return up(s if args.workers is None else s.replace(local_workers=args.workers))


def _cmd_service(s: Settings, args) -> int:
    """``sluice gateway`` / ``sluice worker``: found by entry point, so the core imports no service."""
    from sluice import launcher
    return launcher.run(args.command, s)


def _cmd_broker(s: Settings, args) -> int:
    from sluice.local import kafka
    if args.action == "fetch":
        print(kafka.fetch(s.cache_dir, s.kafka_version))
        return 0
    from sluice.local.topology import broker_for, with_local_brokers
    s = with_local_brokers(s, s.local_brokers)
    broker = broker_for(s)
    if args.action == "start":
        opened = private.secure_dir(s.state_dir)
        if opened is not None:
            print(f"sluice: the state directory {s.state_dir} had mode {opened:04o}; it is 0700 again", file=sys.stderr)
        broker.start()
        nodes = getattr(broker, "nodes", [broker])
        pids = ", ".join(str(node.running_pid()) for node in nodes)
        print(f"Kafka {s.kafka_version} running on {s.kafka_bootstrap} (pid {pids})")
    else:
        broker.stop()
    return 0


def _cmd_redis(s: Settings, args) -> int:
    from sluice.local import redis
    print(redis.fetch(s.cache_dir))  # the unpacked packages; `sluice up` starts the server
    return 0


def _cmd_migrate(s: Settings, args) -> int:
    if args.print_cluster:
        from schemas.clickhouse_cluster import render
        print(render(args.print_cluster, s.clickhouse_database, s.retention_days, s.dedup_window), end="")
        return 0
    from sluice.storage import ClusterError, Storage, migrate
    storage = Storage(s)
    try:
        applied = storage.run_sync(migrate, s)
    except ClusterError as exc:
        print(f"sluice: {exc}", file=sys.stderr)
        return 1
    finally:
        storage.close()
    print(f"applied {applied}" if applied else "schema up to date")
    return 0


def _cmd_sql(s: Settings, args) -> int:
    """Through the running worker when the engine is embedded (it owns the data), else directly."""
    if s.embedded_clickhouse:
        from sluice import internal
        try:
            result = internal.query(s, {"sql": args.statement})
        except internal.InternalError as exc:
            print(f"sluice: {exc}", file=sys.stderr)
            return 1
        except OSError:
            print("sluice: no worker is running; start Sluice with `make run`", file=sys.stderr)
            return 1
        rows = result["rows"]
    else:
        from sluice.storage import connect
        rows = connect(s).query(args.statement).result_rows
    for row in rows:
        print("\t".join(str(v) for v in row))
    return 0


def _cmd_tenants(s: Settings, args) -> int:
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


def _cmd_keys(s: Settings, args) -> int:
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


def _cmd_secrets(s: Settings, args) -> int:
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


def _cmd_dlq(s: Settings, args) -> int:
    from sluice import dlq
    if args.action == "list":
        print(dlq.summary(asyncio.run(dlq.read(s)), samples=args.samples))
        return 0
    count = asyncio.run(dlq.replay(s, args.reason, progress=dlq.progress_bar))
    print(f"replayed {count} dead letters" + (f" with reason {args.reason}" if args.reason else ""))
    return 0


def _cmd_query(s: Settings, args) -> int:
    from sluice.search_cli import query
    return query(s, args)


def _cmd_tail(s: Settings, args) -> int:
    from sluice.search_cli import tail
    return tail(s, args)


class _KeyInArgv(argparse.Action):
    """``--key`` is refused without echoing the key: every local user sees a command line."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser.error("--key is refused: a command line is visible to every local user (ps, /proc); "
                     "export SLUICE_API_KEY=<key>, or pass --key-file PATH (- reads stdin)")


def _key_options(p: argparse.ArgumentParser, verb: str) -> None:
    p.add_argument("--key-file", metavar="PATH",
                   help=f"{verb} as the API key in this file (- reads stdin), else as SLUICE_API_KEY if set: "
                        "its own tenant and environment only")
    p.add_argument("--key", action=_KeyInArgv, help=argparse.SUPPRESS)
    # The API key is not a setting (sluice/settings.py): it belongs to whoever runs the command.
    p.set_defaults(env_key=os.environ.get("SLUICE_API_KEY", ""))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sluice", description="Self-hosted log ingestion on Kafka and ClickHouse.")
    sub = p.add_subparsers(dest="command", required=True)
    u = sub.add_parser("up", help="run broker, gateway and worker on this machine")
    u.add_argument("--brokers", type=int, metavar="N",
                   help="run a KRaft cluster of N Kafka brokers (topics at replication min(3, N), "
                        "min.insync.replicas 2 from 3 on); default SLUICE_LOCAL_BROKERS, 1")
    u.add_argument("--workers", type=int, metavar="N",
                   help="run N worker processes in one consumer group (more than one needs "
                        "SLUICE_CLICKHOUSE_URL); default SLUICE_LOCAL_WORKERS, 1")
    u.set_defaults(fn=_cmd_up)
    sub.add_parser("gateway", help="run one gateway process").set_defaults(fn=_cmd_service)
    sub.add_parser("worker", help="run one worker process").set_defaults(fn=_cmd_service)
    b = sub.add_parser("broker", help="the local Kafka broker")
    b.add_argument("action", choices=["fetch", "start", "stop"])
    b.set_defaults(fn=_cmd_broker)
    rd = sub.add_parser("redis", help="the local Redis for shared rate limits (from Debian's packages)")
    rd.add_argument("action", choices=["fetch"])
    rd.set_defaults(fn=_cmd_redis)
    mg = sub.add_parser("migrate", help="apply ClickHouse migrations (SLUICE_CLICKHOUSE_CLUSTER: the cluster form)")
    mg.add_argument("--print-cluster", metavar="CLUSTER", help="print the cluster schema as SQL instead")
    mg.set_defaults(fn=_cmd_migrate)
    q = sub.add_parser("sql", help="run a read-only SQL query")
    q.add_argument("statement")
    q.set_defaults(fn=_cmd_sql)
    t = sub.add_parser("tenants", help="manage tenants")
    ts = t.add_subparsers(dest="action", required=True)
    tc = ts.add_parser("create", help="create a tenant")
    tc.add_argument("name")
    tc.add_argument("--tier", default="standard", choices=TIERS, help="rate-limit tier (see the settings)")
    tt = ts.add_parser("set-tier", help="move a tenant to another rate-limit tier")
    tt.add_argument("name")
    tt.add_argument("tier", choices=TIERS)
    ts.add_parser("list", help="list tenants and their tiers")
    t.set_defaults(fn=_cmd_tenants)
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
    k.set_defaults(fn=_cmd_keys)
    qy = sub.add_parser("query", help="search a tenant's logs with the KQL-style filter language")
    qy.add_argument("filter", nargs="?", default="")
    qy.add_argument("--tenant", help="the tenant to search (default dev); an operator's view")
    _key_options(qy, "search")
    qy.add_argument("--from", dest="from_", default="-1h")
    qy.add_argument("--to", default="now")
    qy.add_argument("--limit", type=int, default=50)
    qy.add_argument("--table", choices=["logs", "access"], default="logs", help="access: Profound's access logs")
    qy.add_argument("--format", choices=["table", "json", "csv"], default="table")
    from sluice.search_cli import stats_options
    stats_options(qy)
    qy.set_defaults(fn=_cmd_query)
    tl = sub.add_parser("tail", help="follow a tenant's matching logs as they arrive")
    tl.add_argument("filter", nargs="?", default="")
    tl.add_argument("--tenant", help="the tenant to follow (default dev); an operator's view")
    _key_options(tl, "follow")
    tl.add_argument("--format", choices=["table", "json"], default="table")
    tl.set_defaults(fn=_cmd_tail)
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
    sc.set_defaults(fn=_cmd_secrets)
    d = sub.add_parser("dlq", help="inspect and replay the dead-letter topic")
    ds = d.add_subparsers(dest="action", required=True)
    dl = ds.add_parser("list", help="counts by reason, with samples")
    dl.add_argument("--samples", type=int, default=3)
    dr = ds.add_parser("replay", help="re-publish dead letters to their source topics")
    dr.add_argument("--reason", help="only letters with this reason, e.g. unknown_tenant")
    d.set_defaults(fn=_cmd_dlq)
    return p


def _glue_relative_times(argv: list[str]) -> list[str]:
    """``--from -1h`` reads as an option to argparse; make it ``--from=-1h``."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in ("--from", "--to") and arg.startswith("-"):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def main(argv: list[str] | None = None) -> int:
    private.restrict_umask()  # nothing Sluice writes (logs, keys, state) is for other users
    args = parser().parse_args(_glue_relative_times(sys.argv[1:] if argv is None else argv))
    settings = load_settings()
    try:
        return args.fn(settings, args)
    except ValueError as exc:
        print(f"sluice: {exc}", file=sys.stderr)
        return 2
