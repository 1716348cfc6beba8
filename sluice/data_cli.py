"""``sluice migrate``, ``sluice sql`` and ``sluice dlq``: the operator's hands on the stored data.

``migrate`` applies the ClickHouse migrations (or prints the cluster schema);
``sql`` runs a read-only statement, through the running worker when the engine
is embedded (it owns the data), else on ClickHouse directly; ``dlq`` lists the
dead letters by reason and re-publishes them to their source topics. Exit 1
when ClickHouse, the worker or the cluster refuses, with the reason on stderr.
"""

from __future__ import annotations

import asyncio
import sys

from sluice.settings import Settings


def add_migrate(sub) -> None:
    mg = sub.add_parser("migrate", help="apply ClickHouse migrations (SLUICE_CLICKHOUSE_CLUSTER: the cluster form)")
    mg.add_argument("--print-cluster", metavar="CLUSTER", help="print the cluster schema as SQL instead")
    mg.set_defaults(fn=run_migrate)


def add_sql(sub) -> None:
    q = sub.add_parser("sql", help="run a read-only SQL query")
    q.add_argument("statement")
    q.set_defaults(fn=run_sql)


def add_dlq(sub) -> None:
    d = sub.add_parser("dlq", help="inspect and replay the dead-letter topic")
    ds = d.add_subparsers(dest="action", required=True)
    dl = ds.add_parser("list", help="counts by reason, with samples")
    dl.add_argument("--samples", type=int, default=3)
    dr = ds.add_parser("replay", help="re-publish dead letters to their source topics")
    dr.add_argument("--reason", help="only letters with this reason, e.g. unknown_tenant")
    d.set_defaults(fn=run_dlq)


def run_migrate(s: Settings, args) -> int:
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


def run_sql(s: Settings, args) -> int:
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


def run_dlq(s: Settings, args) -> int:
    from sluice import dlq
    if args.action == "list":
        print(dlq.summary(asyncio.run(dlq.read(s)), samples=args.samples))
        return 0
    count = asyncio.run(dlq.replay(s, args.reason, progress=dlq.progress_bar))
    print(f"replayed {count} dead letters" + (f" with reason {args.reason}" if args.reason else ""))
    return 0
