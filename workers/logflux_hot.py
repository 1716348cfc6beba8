"""LogFlux records through the hot path: decrypted and mapped in Rust, under keys the worker's cache holds.

Two calls to the ``sluice_hot`` extension around the derived-key cache (workers/decrypt.py), which stays
in Python: ``scan`` reads a run of records and tells the distinct (tenant, salt) pairs they use; the cache
gives the keys of those it holds, once per pair (it derives none: a record whose key is not cached is
declined, and the reference path derives it, or sends the record to the slow lane, as before); ``map``
decrypts every entry with AES-256-GCM and maps its plaintext as ``workers.logflux.normalize_logflux``
does (schemas/dialects/logflux/rows.py).

Exactness: a record is mapped whole or declined whole. One entry that does not verify, or whose
plaintext the hot path does not read exactly as the reference would (see hotpath/src/plaintext.rs),
declines its record; the reference path then dead-letters each failed entry alone, with its reason,
and stores the rest (tests/unit/test_hot_path_logflux.py holds the two to identical tables).
"""

from __future__ import annotations

from typing import Sequence

import sluice_hot
from schemas.dialects.logflux import wire as lf
from schemas.envelope import Envelope
from schemas.formats import Format
from workers.decrypt import Decryptor
from workers.hot import Mapped, envelope_tuples, from_buffers
from schemas.dialects.logflux.rows import BODY_FIELDS, NODE_ATTRIBUTES

#: The formats this path maps.
FORMATS = frozenset({Format.LOGFLUX_BATCH, Format.LOGFLUX_SINGLE})

_LOGFLUX = sluice_hot.LogFlux("logflux", [lf.LEVELS[level] for level in sorted(lf.LEVELS)], list(NODE_ATTRIBUTES),
                              list(BODY_FIELDS))


def map_values(fmt: Format, values: Sequence[bytes], envelopes: Sequence[Envelope], decryptor: Decryptor) -> Mapped:
    """The rows of LogFlux ``values`` (all of format ``fmt``, one envelope each), or their declines."""
    scanned = _LOGFLUX.scan(list(values), fmt is Format.LOGFLUX_BATCH, [e.tenant for e in envelopes])
    keys = [decryptor.cached_keys(tenant, salt) for tenant, salt in scanned.pairs()]
    counts, declined, buffers = _LOGFLUX.map(scanned, keys, envelope_tuples(envelopes))
    return from_buffers(counts, declined, buffers, envelopes)
