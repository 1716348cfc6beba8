"""How large a filter may be: checked before anything compiles it.

A filter's SQL grows with its terms (each binds one or two parameters), and
compiling runs Python over every character, so one request with a huge filter
could hold a gateway for seconds and hand the engine megabytes of SQL. The
size cap costs one length check; the term cap one pass of the tokenizer over
at most ``max_bytes``. Over either, a 400 whose code and ``details`` name the
limit and its value, e.g. ``filter_too_long`` with ``query_max_filter_bytes=8192``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sluice.query.kql import KqlError, tokenize
from sluice.query.errors import QueryError
from sluice.settings import Settings

TOO_LONG, TOO_MANY_TERMS = "filter_too_long", "filter_too_many_terms"


@dataclass(frozen=True)
class FilterLimits:
    max_bytes: int
    max_terms: int

    @classmethod
    def of(cls, settings: Settings) -> "FilterLimits":
        return cls(settings.query_max_filter_bytes, settings.query_max_terms)

    def check(self, text: str) -> None:
        """Raise QueryError (400) for a filter over a limit, or one that does not tokenize."""
        self.check_size(text)
        terms = count_terms(text)
        if terms > self.max_terms:
            raise QueryError(400, TOO_MANY_TERMS, f"The filter has {terms} terms; at most {self.max_terms} are "
                             "allowed. Combine values with wildcards or split the search.",
                             details=f"query_max_terms={self.max_terms}")

    def check_size(self, text: str) -> None:
        """The size cap alone: constant time for a string far over it, so cheap on an event loop."""
        # Every character is at least one byte: a long string is refused without encoding it.
        size = len(text) if len(text) > self.max_bytes else len(text.encode("utf-8", "surrogatepass"))
        if size > self.max_bytes:
            raise QueryError(400, TOO_LONG, f"The filter is longer than {self.max_bytes} bytes, the most "
                             "allowed. Narrow it to fewer, shorter terms.",
                             details=f"query_max_filter_bytes={self.max_bytes}")


def count_terms(text: str) -> int:
    """Terms of a filter: words and phrases, a ``field:value`` or ``field>value`` counting once,
    each member of a value list and each end of a range once (``x:(a OR b)`` and ``x:[1 TO 2]`` are 2)."""
    try:
        tokens = tokenize(text)
    except KqlError as exc:
        raise QueryError(400, "invalid_filter", str(exc)) from None
    values = sum(t.kind in ("WORD", "PHRASE") for t in tokens)
    return values - sum(t.kind in ("COLON", "OP") for t in tokens)
