"""A free-form dialect's mapping to ``logs`` columns, declared as data.

Some senders write any JSON object: a few of its members have meaning, found by name among arbitrary ones,
and everything else is context. Such a dialect declares once, in its folder
(``schemas/dialects/<name>/columns.py``), which names fill which column; every other member becomes an
attribute. Two things execute the declaration and must agree row for row: the reference here (``split``, then
``schemas.rows.free_form.free_form_rows``) and the ``sluice_hot`` extension (hotpath/src/free_form*.rs, built from the same
declaration by sluice/hotpath.py), held to each other by tests/unit/test_hot_path_logstash.py.

How an event is read:

* ``dropped`` members are removed first and never stored (a token a producer left in, a format version);
* ``time`` is RFC 3339 / ISO 8601 text → ``Timestamp``; absent or unreadable: the gateway's receive time;
* ``host`` is a string, or an object's ``name`` (else ``hostname``) → ``host.name`` in ``ResourceAttributes``;
* each of ``COLUMN_ROLES`` takes the first non-null of its names, in the declared order: the nulls before it
  are dropped, the names after it stay attributes;
* every other member is an attribute, flattened (schemas.rows.normalize.flatten).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from schemas import storable

#: How many names one column may have (the extension keeps their places in fixed arrays).
MAX_NAMES = 8


class Event(NamedTuple):
    """One event split into what fills columns and what becomes attributes."""

    timestamp: datetime | None  # the time member read; None when absent or unreadable (receive time)
    level: Any  # each column: its first non-null member, as sent; None when there is none
    body: Any
    scope_name: Any
    service: Any
    host: Any  # a string, or ECS's {"name": ...}
    attributes: dict[str, Any]  # every other member


#: The columns a free-form event's named members may fill (``Event``'s), in the order the extension numbers them.
COLUMN_ROLES: tuple[str, ...] = Event._fields[1:5]


@dataclass(frozen=True)
class FreeForm:
    """Which names of an event (any JSON object) fill which column; ``columns`` maps each of ``COLUMN_ROLES``
    to its names, first preferred."""

    source: str
    dropped: tuple[str, ...]
    time: str
    host: str
    columns: dict[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        if set(self.columns) != set(COLUMN_ROLES):
            raise ValueError(f"{self.source}: name the members of exactly {COLUMN_ROLES}, not {sorted(self.columns)}")
        named = [*self.dropped, self.time, self.host, *(n for names in self.columns.values() for n in names)]
        if len(set(named)) != len(named):
            raise ValueError(f"{self.source}: a name has two meanings")
        if any(not 1 <= len(names) <= MAX_NAMES for names in self.columns.values()):
            raise ValueError(f"{self.source}: each column takes 1 to {MAX_NAMES} names")

    def split(self, event: dict[str, Any]) -> Event:
        """``event``'s columns and attributes, as the module's docstring reads them (``event`` is left as it is)."""
        rest = dict(event)
        for name in self.dropped:
            rest.pop(name, None)
        stamp = rest.pop(self.time, None)
        when = None
        if isinstance(stamp, str):
            try:
                when = datetime.fromisoformat(stamp)
            except ValueError:
                pass
        chosen = {role: _first(rest, names) for role, names in self.columns.items()}
        return Event(when, **chosen, host=rest.pop(self.host, None), attributes=rest)

    def unstorable(self, event: Event) -> tuple[str, storable.Unstorable] | None:
        """(member, why) for the first value of ``event`` the ``logs`` table cannot hold
        (schemas/storable.py), or None; the member is "" for one among the attributes."""
        if event.timestamp is not None and not storable.time_fits(event.timestamp):
            return self.time, storable.Unstorable(
                storable.OUT_OF_RANGE, f"`{self.time}` {event.timestamp.isoformat()} is outside {storable.TIMESTAMP}")
        if event.attributes:
            try:
                storable.check_tree(event.attributes, "fields")
            except storable.Unstorable as exc:
                return "", exc
        return None


def _first(fields: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = fields.pop(name, None)
        if value is not None:
            return value
    return None
