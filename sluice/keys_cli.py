"""``sluice keys import``: register one existing key of another service, read from stdin, unchanged.

The key never travels on the command line: argv is visible to every local
user (ps, /proc), so a key given as an argument is refused without being
echoed, and the format rules' messages (sluice/key_import.py) never hold it.
Exit 2 for a key, option or environment that is not accepted, 1 for a key
already registered; stdout carries the new key id alone.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TextIO

from schemas.registry import ENVIRONMENTS, READ, SCOPES, WRITE, TenantRecord
from sluice import key_import
from sluice import registry as registry_topic
from sluice.keys import expires_at, now_iso, validate_tenant_name
from sluice.settings import Settings

#: More than any key the format rules accept, so a longer stdin is refused as too long, not cut.
_READ_LIMIT = key_import.MAX_LENGTH + 2


_IN_ARGV = ("a key on the command line is refused: it is visible to every local user (ps, /proc), so treat "
            "it as exposed; pipe the key on stdin instead: sluice keys import --tenant T --format F < key.txt")


class _KeyInArgv(argparse.Action):
    """A key given as an argument is refused, and not repeated in the refusal."""

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string is None and not values:
            return  # no positional argument: the key comes on stdin, as it should
        parser.error(_IN_ARGV)


def _refuse_unknown_arguments(parser: argparse.ArgumentParser) -> None:
    """Unknown arguments (``--api-key=…``, a key starting with ``-``) refused here, not listed by the top parser.

    argparse hands a subcommand's unknown arguments up to ``sluice``'s parser,
    whose error repeats them; this subcommand's arguments may hold a key.
    """
    parse_known_args = parser.parse_known_args

    def known_only(args=None, namespace=None):
        namespace, extras = parse_known_args(args, namespace)
        if extras:
            parser.error(_IN_ARGV)
        return namespace, extras

    parser.parse_known_args = known_only  # type: ignore[method-assign]


def add_parser(actions) -> argparse.ArgumentParser:
    """Add ``import`` to the ``sluice keys`` subcommands."""
    p = actions.add_parser("import", help="register an existing key of another service, read from stdin")
    p.add_argument("--tenant", required=True)
    p.add_argument("--format", required=True, choices=key_import.DIALECTS,
                   help="the service that issued the key; its documented key format is checked")
    p.add_argument("--environment", choices=ENVIRONMENTS,
                   help="default production; a LogTrace key's prefix decides: lt_live_ production, "
                        "lt_test_ staging (or development)")
    p.add_argument("--scope", action="append", choices=SCOPES,
                   help="repeat for several; default write:logs and read:logs")
    p.add_argument("--expires", help="an ISO 8601 instant with a timezone, or a duration such as 30d or 12h")
    p.add_argument("--key", "--token", action=_KeyInArgv, help=argparse.SUPPRESS)
    p.add_argument("stray", nargs="*", action=_KeyInArgv, help=argparse.SUPPRESS)
    _refuse_unknown_arguments(p)
    return p


def read_key(stream: TextIO) -> str:
    """The one key on ``stream`` (asked for without echo on a terminal), surrounding whitespace removed.

    Raises ``KeyImportError`` for more than one line; the format rules judge the rest.
    """
    if stream.isatty():
        import getpass
        return getpass.getpass("key to import: ").strip()
    text = stream.read(_READ_LIMIT).strip()
    if "\n" in text or "\r" in text:
        raise key_import.KeyImportError(400, "key_not_one_line", "stdin must hold one key alone, on one line.")
    return text


def run(s: Settings, args, stdin: TextIO | None = None) -> int:
    """Check, then publish the key's record (and its tenant's, if new) to the registry topic."""
    try:
        tenant = validate_tenant_name(args.tenant)
        key = read_key(sys.stdin if stdin is None else stdin)
        record = key_import.imported_record(
            tenant, args.format, key, requested_environment=args.environment, default_environment="production",
            scopes=tuple(args.scope or (WRITE, READ)), expires_at=expires_at(args.expires))
        registry = asyncio.run(registry_topic.load_registry(s))
        key_import.refuse_taken(registry.keys, record)
    except key_import.KeyImportError as exc:
        print(f"sluice: {exc}", file=sys.stderr)
        return 1 if exc.status == 409 else 2
    records = [] if tenant in registry.tenants else [TenantRecord(tenant, now_iso())]
    asyncio.run(registry_topic.publish(s, *records, record))
    print(record.key_id)  # the id alone on stdout: ID=$(sluice keys import ... < key.txt)
    print(f"imported a {args.format} key for tenant {tenant} in {record.environment} "
          f"({', '.join(record.scopes)})", file=sys.stderr)
    return 0
