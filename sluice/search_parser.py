"""The arguments of ``sluice query`` and ``sluice tail``; sluice/search_cli.py runs them.

Both search as an operator's ``--tenant`` or as an API key read from
``--key-file`` or ``SLUICE_API_KEY``; ``--key`` is refused at parse time
without echoing it, since a command line is visible to every local user.
"""

from __future__ import annotations

import argparse
import os

from sluice import search_cli


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


def add_query(sub) -> None:
    qy = sub.add_parser("query", help="search a tenant's logs with the KQL-style filter language")
    qy.add_argument("filter", nargs="?", default="")
    qy.add_argument("--tenant", help="the tenant to search (default dev); an operator's view")
    _key_options(qy, "search")
    qy.add_argument("--from", dest="from_", default="-1h")
    qy.add_argument("--to", default="now")
    qy.add_argument("--limit", type=int, default=50)
    qy.add_argument("--table", choices=["logs", "access"], default="logs", help="access: Profound's access logs")
    qy.add_argument("--format", choices=["table", "json", "csv"], default="table")
    search_cli.stats_options(qy)
    qy.set_defaults(fn=search_cli.query)


def add_tail(sub) -> None:
    tl = sub.add_parser("tail", help="follow a tenant's matching logs as they arrive")
    tl.add_argument("filter", nargs="?", default="")
    tl.add_argument("--tenant", help="the tenant to follow (default dev); an operator's view")
    _key_options(tl, "follow")
    tl.add_argument("--format", choices=["table", "json"], default="table")
    tl.set_defaults(fn=search_cli.tail)

