"""LogFlux entries to rows: decrypt-verify each entry under the tenant's keys, then map its plaintext as the
dialect declares (schemas/dialects/logflux/rows.py).

Entries fail one by one: an entry that does not decrypt, or whose decrypted
fields the ``logs`` table cannot hold (schemas/storable.py), is dead-lettered
alone and the rest of its request is stored.
"""

from __future__ import annotations

from typing import NamedTuple

from schemas import storable
from schemas.dialects.logflux import wire as lf
from schemas.dialects.logflux.rows import body_and_attributes, columns
from schemas.envelope import Envelope
from schemas.rows.columnar import LogColumns
from workers.decrypt import DecryptError, Decryptor


class EntryFailure(NamedTuple):
    index: int
    reason: str
    detail: str


def normalize_logflux(entries: list[lf.LogFluxEntry], env: Envelope,
                      decryptor: Decryptor) -> tuple[LogColumns, list[EntryFailure]]:
    """The decrypted entries as ``logs`` columns, and the entries that did not decrypt
    or whose fields cannot be stored (the failure's reason is the contract's code)."""
    decrypt = decryptor.session(env.tenant).decrypt
    failures: list[EntryFailure] = []
    kept: list[lf.LogFluxEntry] = []
    bodies, attributes = [], []
    for index, e in enumerate(entries):
        try:
            plaintext = decrypt(e.iv, e.salt, e.payload)
        except DecryptError as exc:
            failures.append(EntryFailure(index, exc.reason, exc.detail))
            continue
        try:
            body, fields = body_and_attributes(plaintext)
        except storable.Unstorable as exc:
            failures.append(EntryFailure(index, exc.code, f"decrypted payload: {exc.message}"))
            continue
        kept.append(e)
        bodies.append(body)
        attributes.append(fields)
    return columns(kept, bodies, attributes, env), failures
