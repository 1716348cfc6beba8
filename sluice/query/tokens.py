"""The KQL filter's tokens: words, phrases, operators and brackets, each with its position.

Where a character means something depends on where it stands, so the
tokenizer keeps two bits of context:

- inside a range (``[``/``{`` up to ``]``/``}``) only whitespace, quotes,
  brackets and parentheses end a word, so ``timestamp:[2024-03-15T10:22:01Z TO now]`` holds
  two bounds; ``TO`` is a keyword there and only there (``how to`` searches
  for the word "to" everywhere else);
- a value (after ``:`` or a comparison operator) may hold ``:`` too
  (``timestamp>2024-03-15T10:22:01Z``, ``key:user:42``) and start with ``-``
  (``duration_ms>-1``).

A ``-`` that starts a term anywhere else (``-level:info``, ``-timeout``,
``-(a OR b)``) is a NOT token; a value after ``:`` keeps its ``-`` (``x:-1``).
"""

from __future__ import annotations

from dataclasses import dataclass


class KqlError(ValueError):
    """A filter that does not parse or compile; ``position`` is a character offset into it."""

    def __init__(self, message: str, position: int):
        super().__init__(f"{message} at position {position}")
        self.message, self.position = message, position


@dataclass(frozen=True)
class Token:
    # WORD, PHRASE, LPAREN, RPAREN, COLON, OP, AND, OR, NOT, LBRACKET, RBRACKET, TO, END
    kind: str
    text: str
    pos: int


SPECIAL = frozenset('():<>="\\[]{}')
_IN_RANGE = frozenset('"[]{}()')  # with whitespace: all that ends a word inside a range
_VALUE_ENDS = SPECIAL - {":"}  # a value may hold ':' (times of day, "user:42")
_KEYWORDS = frozenset({"AND", "OR", "NOT"})
_NO_NEGATION_AFTER = frozenset({"COLON", "OP"})  # there a '-' belongs to the value


def _phrase(source: str, start: int) -> tuple[str, int]:
    """The phrase opening at ``start`` (a quote) with its escapes undone, and the index after it."""
    i, n, chars = start + 1, len(source), []
    while i < n and source[i] != '"':
        if source[i] == "\\" and i + 1 < n:
            i += 1
        chars.append(source[i])
        i += 1
    if i >= n:
        raise KqlError("unterminated quoted phrase", start)
    return "".join(chars), i + 1


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``, ending with an END token; KqlError for a stray character."""
    tokens: list[Token] = []
    i, n, in_range = 0, len(source), False
    while i < n:
        ch = source[i]
        previous = tokens[-1].kind if tokens else ""
        if ch.isspace():
            i += 1
        elif ch == '"':
            text, end = _phrase(source, i)
            tokens.append(Token("PHRASE", text, i))
            i = end
        elif ch in "[{" and not in_range:
            tokens.append(Token("LBRACKET", ch, i))
            in_range, i = True, i + 1
        elif ch in "]}" and in_range:
            tokens.append(Token("RBRACKET", ch, i))
            in_range, i = False, i + 1
        elif in_range and ch not in "()":  # a parenthesis there is a token: the error names it
            if ch in "[{":
                raise KqlError(f"unexpected {ch!r} inside a range", i)
            start = i
            while i < n and not source[i].isspace() and source[i] not in _IN_RANGE:
                i += 1
            word = source[start:i]
            tokens.append(Token("TO" if word.upper() == "TO" else "WORD", word, start))
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
        elif ch in SPECIAL:
            raise KqlError(f"unexpected {ch!r}", i)
        elif (ch == "-" and previous not in _NO_NEGATION_AFTER and i + 1 < n
              and not source[i + 1].isspace() and source[i + 1] not in ")]}"):
            tokens.append(Token("NOT", ch, i))
            i += 1
        else:
            ends = _VALUE_ENDS if previous in ("OP", "COLON") else SPECIAL
            start = i
            while i < n and not source[i].isspace() and source[i] not in ends:
                i += 1
            word = source[start:i]
            tokens.append(Token(word.upper() if word.upper() in _KEYWORDS else "WORD", word, start))
    tokens.append(Token("END", "", n))
    return tokens
