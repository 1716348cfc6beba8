"""A recursive-descent parser for the KQL-style filter language.

    query    := or
    or       := and ("OR" and)*
    and      := not ("AND"? not)*          -- adjacent terms are ANDed
    not      := ("NOT" | "-") not | primary
    primary  := "(" or ")" | term
    term     := WORD ":" values            -- service:api, service:pay*, field:*
              | WORD (">=" | "<=" | ">" | "<") value
              | WORD | PHRASE              -- full-text search on the message
    values   := value | range | "(" vor ")"
    vor      := vand ("OR" vand)*          -- level:(ERROR OR WARN), message:(timeout AND db)
    vand     := vnot ("AND"? vnot)*
    vnot     := ("NOT" | "-") vnot | "(" vor ")" | range | value
    range    := ("[" | "{") bound "TO" bound ("]" | "}")   -- [ ] inclusive, { } exclusive
    bound    := value                      -- an unquoted * is an open end
    value    := WORD | PHRASE

A value list is shorthand: ``level:(ERROR OR WARN)`` is ``(level:ERROR OR
level:WARN)``, and that is the tree it parses to. ``-x`` is ``NOT x`` wherever a
term may start (``x:-1`` and ``x>-1`` are values). AND, OR and NOT are keywords
in any case, TO only inside a range; quote any of them ("AND") to search for
it. Phrases take ``\\"`` and ``\\\\`` escapes. Errors name the position and
what was expected. Tokens: sluice/query/tokens.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Union

from sluice.query.tokens import KqlError, Token, tokenize

__all__ = ["KqlError", "Match", "Compare", "Range", "Text", "Not", "And", "Or", "Node", "parse", "tokenize"]


@dataclass(frozen=True)
class Match:
    field: str
    value: str
    quoted: bool  # a phrase: no wildcards
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Compare:
    field: str
    op: str  # >=, <=, >, <
    value: str
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Range:
    field: str
    low: str | None  # None: open (*)
    high: str | None
    include_low: bool  # [ (True) or { (False)
    include_high: bool  # ] (True) or } (False)
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Text:
    value: str
    quoted: bool
    pos: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True)
class Not:
    item: "Node"


@dataclass(frozen=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    items: tuple["Node", ...]


Node = Union[Match, Compare, Range, Text, Not, And, Or]

_NAMES = {"WORD": "a term", "PHRASE": "a quoted phrase", "LPAREN": "'('", "RPAREN": "')'", "END": "the end",
          "LBRACKET": "'[' or '{'", "RBRACKET": "']' or '}'", "TO": "'TO'"}
# Tokens that start an operand: one of them after an operand is an implicit AND.
_STARTS = frozenset({"AND", "NOT", "WORD", "PHRASE", "LPAREN"})

#: Parentheses, NOTs and value lists one filter may nest; deeper is refused before Python's stack is.
MAX_DEPTH = 32


class _Parser:
    def __init__(self, source: str):
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0

    def _deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise KqlError(f"the filter nests more than {MAX_DEPTH} levels deep", self.peek.pos)

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self, *kinds: str) -> Token:
        token = self.peek
        if token.kind not in kinds:
            found = "the end of the filter" if token.kind == "END" else repr(token.text)
            wanted = " or ".join(_NAMES.get(k, k) for k in kinds)
            raise KqlError(f"expected {wanted}, found {found}", token.pos)
        self.i += 1
        return token

    def parse(self) -> Node:
        node = self.or_(self.term, _STARTS)
        self.take("END")
        return node

    # The boolean layers, shared by the whole filter and by a field's value list:
    # ``leaf`` reads one operand, ``starts`` are the tokens an operand may begin with.
    def or_(self, leaf: Callable[[], Node], starts: frozenset[str]) -> Node:
        items = [self.and_(leaf, starts)]
        while self.peek.kind == "OR":
            self.i += 1
            items.append(self.and_(leaf, starts))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self, leaf: Callable[[], Node], starts: frozenset[str]) -> Node:
        items = [self.not_(leaf, starts)]
        while self.peek.kind in starts:
            if self.peek.kind == "AND":
                self.i += 1
            items.append(self.not_(leaf, starts))
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_(self, leaf: Callable[[], Node], starts: frozenset[str]) -> Node:
        if self.peek.kind == "NOT":
            self.i += 1
            self._deeper()
            node = Not(self.not_(leaf, starts))
            self.depth -= 1
            return node
        if self.peek.kind == "LPAREN":
            self.i += 1
            self._deeper()
            node = self.or_(leaf, starts)
            self.take("RPAREN")
            self.depth -= 1
            return node
        return leaf()

    def term(self) -> Node:
        token = self.take("WORD", "PHRASE", "LPAREN")
        if token.kind == "PHRASE":
            return Text(token.text, quoted=True, pos=token.pos)
        if self.peek.kind == "COLON":
            self.i += 1
            if self.peek.kind == "LPAREN":
                return self.not_(lambda: self.value_of(token), _STARTS | {"LBRACKET"})
            return self.value_of(token)
        if self.peek.kind == "OP":
            op = self.take("OP").text
            value = self.take("WORD", "PHRASE")
            return Compare(token.text, op, value.text, pos=token.pos)
        return Text(token.text, quoted=False, pos=token.pos)

    def value_of(self, name: Token) -> Node:
        """One value (or range) of the field ``name``: a Match or a Range."""
        if self.peek.kind == "LBRACKET":
            return self.range_of(name)
        # '(' is read before a value is (by term and by not_): listed only for the error message.
        value = self.take("WORD", "PHRASE", "LPAREN", "LBRACKET")
        return Match(name.text, value.text, quoted=value.kind == "PHRASE", pos=value.pos)

    def range_of(self, name: Token) -> Range:
        opening = self.take("LBRACKET")
        low = self.take("WORD", "PHRASE")
        self.take("TO")
        high = self.take("WORD", "PHRASE")
        closing = self.take("RBRACKET")

        def bound(token: Token) -> str | None:
            return None if token.kind == "WORD" and token.text == "*" else token.text

        return Range(name.text, bound(low), bound(high), opening.text == "[", closing.text == "]", pos=opening.pos)


def parse(source: str) -> Node | None:
    """The filter's syntax tree; None for an empty filter (everything)."""
    if not source.strip():
        return None
    return _Parser(source).parse()
