"""Coverage-guided fuzzing (atheris) of everything that reads bytes a client chose.

    python -m fuzz.decoders -max_total_time=120 [-artifact_prefix=DIR/]

One input drives one target: its first byte picks a request format (or the
body decompressor, or the search-filter parser), the rest is the body. Each
target may refuse an input only with its documented error (``InvalidBody``,
``ApiError``, ``KqlError``); any other exception is a crash, saved by
libFuzzer as ``crash-<sha1>`` for a regression test.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from gateway import encoding
    from gateway.errors import ApiError
    from schemas.formats import Format, InvalidBody, decode
    from sluice.query.kql import KqlError, parse

FORMATS = list(Format)
DECODED_LIMIT = 1 << 20


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
    except (InvalidBody, ApiError, KqlError):
        pass


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
