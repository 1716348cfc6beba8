"""Coverage-guided fuzzing (atheris) of everything that reads bytes a client chose.

    python -m fuzz.decoders -max_total_time=120 [-artifact_prefix=DIR/]

One input drives one target: its first byte picks a request format (or the
body decompressor, or the search-filter parser), the rest is the body. Each
target may refuse an input only with its documented error (``InvalidBody``,
``ApiError``, ``KqlError``); any other exception is a crash, saved by
libFuzzer as ``crash-<sha1>`` for a regression test.

Accepted means storable: a body a format's decoder accepts must also become
rows in the worker and those rows Arrow columns of the tables' types
(``storable_rows``), or it is a crash too: the gateway would have answered
2xx for what the worker cannot insert.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from gateway import encoding
    from gateway.errors import ApiError
    from schemas.dialects import decode
    from schemas.formats import Format, InvalidBody
    from sluice.query.kql import KqlError, parse

from schemas.envelope import Envelope, to_headers  # noqa: E402 (the worker's side, not instrumented)
from workers.records import Context, rows_of  # noqa: E402

FORMATS = list(Format)
DECODED_LIMIT = 1 << 20
# Refusals of the worker that are no fault of the decoders: LogFlux needs the tenant's secret.
_EXPECTED = {"no_encryption_secret"}
_CONTEXT = Context()


class Unstorable(AssertionError):
    """A body the decoder accepted and the worker could not turn into insertable columns."""


def storable_rows(fmt: Format, body: bytes) -> int:
    """The rows the worker makes of an accepted ``body``, converted as the sink converts them."""
    env = Envelope(fmt.value, "fuzz", "r", 1_700_000_000 * 10**9)
    rows, rejected, _ = rows_of(body, to_headers(env), context=_CONTEXT)
    reasons = {why.reason for _, why in rejected} - _EXPECTED
    if reasons:
        raise Unstorable(f"{fmt.value}: accepted, then refused by the worker: {rejected[0][1]}")
    if isinstance(rows, list):  # refused: no rows
        return 0
    return rows.table.num_rows  # Profound's too: its rows are an ``http_logs`` table


def one_input(data: bytes) -> None:
    if len(data) < 1:
        return
    choice, body = data[0], data[1:]
    target = choice % (len(FORMATS) + 2)
    try:
        if target < len(FORMATS):
            decode(FORMATS[target], body)
        elif target == len(FORMATS):
            coding = (b"gzip", b"deflate", b"zstd", b"identity", b"br")[choice // 32 % 5]
            encoding.decode(coding, body, DECODED_LIMIT)
        else:
            parse(body.decode("utf-8", errors="replace"))
            return
    except (InvalidBody, ApiError, KqlError):
        return
    if target < len(FORMATS):
        storable_rows(FORMATS[target], body)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()

if __name__ == "__main__":
    main()
