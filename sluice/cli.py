"""The ``sluice`` command line: the argument parser, and the commands that run Sluice on this machine.

Each command group keeps its arguments beside what it runs: data_cli.py
(migrate, sql, dlq), registry_cli.py (tenants, keys; keys_cli.py imports a
key), search_parser.py (query, tail; run by search_cli.py), secrets_cli.py.
The local-machine commands (up, broker, redis) stay here: this module is the
one door into ``sluice.local`` (pyproject.toml's import contracts), and it
imports it only inside those commands, so ``sluice gateway`` and ``sluice
worker`` never load it. They start their service by entry point
(sluice/launcher.py), so the core imports no service.
"""

from __future__ import annotations

import argparse
import sys

from sluice import data_cli, private, registry_cli, search_parser, secrets_cli
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


def _add_local(sub) -> None:
    """``up``, ``gateway``, ``worker``, ``broker`` and ``redis``: running Sluice on this machine."""
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


def parser() -> argparse.ArgumentParser:
    """Every command, in the order ``sluice --help`` lists them; each sets ``fn(settings, args) -> exit status``."""
    p = argparse.ArgumentParser(prog="sluice", description="Self-hosted log ingestion on Kafka and ClickHouse.")
    sub = p.add_subparsers(dest="command", required=True)
    _add_local(sub)
    data_cli.add_migrate(sub)
    data_cli.add_sql(sub)
    registry_cli.add_tenants(sub)
    registry_cli.add_keys(sub)
    search_parser.add_query(sub)
    search_parser.add_tail(sub)
    secrets_cli.add_parser(sub)
    data_cli.add_dlq(sub)
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
