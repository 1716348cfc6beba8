"""A recursive-descent parser for the KQL-style filter language.

    query    := or
    or       := and ("OR" and)*
    and      := not ("AND"? not)*          -- adjacent terms are ANDed
    not      := "NOT" not | primary
    primary  := "(" or ")" | term
    term     := WORD ":" value             -- service:api, service:pay*, field:*
              | WORD (">=" | "<=" | ">" | "<") value
              | WORD | PHRASE              -- full-text search on the message
    value    := WORD | PHRASE

AND, OR and NOT are keywords in any case; quote them ("AND") to search for
them. Phrases take ``\\"`` and ``\\\\`` escapes. Errors name the position and
what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


class KqlError(ValueError):
    def __init__(self, message: str, position: int):
        super().__init__(f"{message} at position {position}")
        self.message, self.position = message, position


@dataclass(frozen=True)
class Match:
    field: str
    value: str
    quoted: bool  # a phrase: no wildcards


@dataclass(frozen=True)
class Compare:
    field: str
    op: str  # >=, <=, >, <
    value: str


@dataclass(frozen=True)
class Text:
    value: str
    quoted: bool


@dataclass(frozen=True)
class Not:
    item: "Node"


@dataclass(frozen=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Or:
    items: tuple["Node", ...]


Node = Union[Match, Compare, Text, Not, And, Or]

_SPECIAL = set('():<>="\\')
_NAMES = {"WORD": "a term", "PHRASE": "a quoted phrase", "LPAREN": "'('", "RPAREN": "')'", "END": "the end"}
_KEYWORDS = {"AND", "OR", "NOT"}


@dataclass(frozen=True)
class Token:
    kind: str  # WORD, PHRASE, LPAREN, RPAREN, COLON, OP, AND, OR, NOT, END
    text: str
    pos: int


def tokenize(source: str) -> list[Token]:
    tokens, i, n = [], 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token("LPAREN" if ch == "(" else "RPAREN", ch, i))
            i += 1
        elif ch == ":":
            tokens.append(Token("COLON", ch, i))
            i += 1
        elif ch in "<>":
            op = source[i:i + 2] if source[i + 1:i + 2] == "=" else ch
            tokens.append(Token("OP", op, i))
            i += len(op)
        elif ch == '"':
            start, i, chars = i, i + 1, []
            while i < n and source[i] != '"':
                if source[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(source[i])
                i += 1
            if i >= n:
                raise KqlError("unterminated quoted phrase", start)
            tokens.append(Token("PHRASE", "".join(chars), start))
            i += 1
        elif ch in _SPECIAL:
            raise KqlError(f"unexpected {ch!r}", i)
        else:
            start = i
            while i < n and not source[i].isspace() and source[i] not in _SPECIAL:
                i += 1
            word = source[start:i]
            kind = word.upper() if word.upper() in _KEYWORDS else "WORD"
            tokens.append(Token(kind, word, start))
    tokens.append(Token("END", "", n))
    return tokens


#: Parentheses and NOTs one filter may nest; deeper is refused before Python's stack is.
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
        node = self.or_()
        self.take("END")
        return node

    def or_(self) -> Node:
        items = [self.and_()]
        while self.peek.kind == "OR":
            self.i += 1
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_(self) -> Node:
        items = [self.not_()]
        while self.peek.kind in ("AND", "NOT", "WORD", "PHRASE", "LPAREN"):
            if self.peek.kind == "AND":
                self.i += 1
            items.append(self.not_())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_(self) -> Node:
        if self.peek.kind == "NOT":
            self.i += 1
            self._deeper()
            node = Not(self.not_())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        if self.peek.kind == "LPAREN":
            self.i += 1
            self._deeper()
            node = self.or_()
            self.take("RPAREN")
            self.depth -= 1
            return node
        token = self.take("WORD", "PHRASE", "LPAREN")
        if token.kind == "PHRASE":
            return Text(token.text, quoted=True)
        if self.peek.kind == "COLON":
            self.i += 1
            value = self.take("WORD", "PHRASE")
            return Match(token.text, value.text, quoted=value.kind == "PHRASE")
        if self.peek.kind == "OP":
            op = self.take("OP").text
            value = self.take("WORD", "PHRASE")
            return Compare(token.text, op, value.text)
        return Text(token.text, quoted=False)


def parse(source: str) -> Node | None:
    """The filter's syntax tree; None for an empty filter (everything)."""
    if not source.strip():
        return None
    return _Parser(source).parse()
