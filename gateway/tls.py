"""TLS for the gateway and the Logstash listener: a server context that follows its certificate files.

A ``ReloadingContext`` holds one ``ssl.SSLContext`` for the life of the
listener (the server was handed that object and cannot be given another).
``watch`` looks at the certificate and key files every ``check_every_s``;
when either changed, the pair is read once into memory, tried in a fresh
context, and only if the two belong together loaded into the live one, so a
pair caught half copied, or a key that does not match, never breaks the
listener: it keeps serving the previous certificate and the failure is
logged and counted (``sluice_tls_reloads_total{listener, outcome}``). New
connections get the new certificate; open ones keep theirs.

Every load is done on the event loop's thread, the one that creates TLS
connections from the context: OpenSSL does not promise that changing a
context while another thread makes connections from it is safe.

The paths come from settings; the key's bytes only ever pass through memory
(an anonymous memory file on Linux) and are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import tempfile
from pathlib import Path
from typing import Iterator

from cryptography import x509

from sluice import metrics

log = logging.getLogger(__name__)


class TlsError(ValueError):
    """The certificate or key cannot be used; the message names the files and what is wrong."""


_Stamp = tuple[tuple[int, int, int], ...]


class ReloadingContext:
    """A TLS server context for the pair ``cert_file`` (PEM chain) and ``key_file`` (PEM, unencrypted;
    empty: the key is in ``cert_file``). The constructor loads the pair or raises ``TlsError``."""

    def __init__(self, listener: str, cert_file: str, key_file: str = "", check_every_s: float = 5.0):
        self.listener, self.check_every_s = listener, check_every_s
        self.files = tuple(Path(p) for p in (cert_file, key_file) if p)
        self.context = _new_context()
        try:
            self._stamp = self._stat()
            self._load(self.context, *self._read())
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise TlsError(self._why(exc)) from None

    def check(self) -> bool:
        """Reload the pair if its files changed since they were last looked at; True when the
        live context now holds a new certificate. A failure is logged and counted, never raised."""
        try:
            stamp = self._stat()
        except OSError as exc:
            return self._failed(exc, None)  # a file being replaced (moved away, not yet back)
        if stamp == self._stamp:
            return False
        try:
            pem = self._read()
            self._load(_new_context(), *pem)  # the pair is whole and matches, or the live context is left as is
        except (OSError, ssl.SSLError, ValueError) as exc:
            return self._failed(exc, stamp)
        self._load(self.context, *pem)
        self._stamp = stamp
        metrics.TLS_RELOADS.labels(self.listener, "loaded").inc()
        log.info("%s: reloaded the TLS certificate from %s", self.listener, self.files[0])
        return True

    async def watch(self) -> None:
        """Check the files every ``check_every_s`` until cancelled."""
        while True:
            await asyncio.sleep(self.check_every_s)
            try:
                self.check()
            except Exception:  # never let one surprise end the watch: renewals would stop unnoticed
                metrics.TLS_RELOADS.labels(self.listener, "failed").inc()
                log.exception("%s: checking the TLS certificate failed", self.listener)

    def _failed(self, exc: Exception, stamp: _Stamp | None) -> bool:
        # Remember what failed, so one bad copy is reported once, not at every check;
        # the next change to either file is tried again.
        if stamp is not None:
            self._stamp = stamp
        metrics.TLS_RELOADS.labels(self.listener, "failed").inc()
        log.warning("%s: kept the previous TLS certificate: %s", self.listener, self._why(exc))
        return False

    def _stat(self) -> _Stamp:
        # Kubernetes updates a mounted secret by swapping a symlink: stat follows it to the new inode.
        return tuple((s.st_mtime_ns, s.st_size, s.st_ino) for s in (os.stat(p) for p in self.files))

    def _read(self) -> tuple[bytes, bytes | None]:
        cert = self.files[0].read_bytes()
        return cert, self.files[1].read_bytes() if len(self.files) > 1 else None

    def _load(self, context: ssl.SSLContext, cert: bytes, key: bytes | None) -> None:
        with _memory_file(cert) as cert_path, _memory_file(key) as key_path:
            context.load_cert_chain(cert_path, key_path)
        expires = x509.load_pem_x509_certificate(cert).not_valid_after_utc.timestamp()
        if context is self.context:
            metrics.TLS_CERT_EXPIRY.labels(self.listener).set(expires)

    def _why(self, exc: Exception) -> str:
        names = " and ".join(str(p) for p in self.files)
        if isinstance(exc, OSError) and not isinstance(exc, ssl.SSLError):
            return f"cannot read {exc.filename or names}: {exc.strerror}"
        reason = getattr(exc, "reason", None) or str(exc)
        return (f"{names}: not a usable PEM certificate chain and matching unencrypted private key "
                f"({reason})")


def _new_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@contextlib.contextmanager
def _memory_file(data: bytes | None) -> Iterator[str | None]:
    """A path that reads ``data``, for ``load_cert_chain``, which takes only paths: an
    anonymous memory file where the system has them, else a private temporary file."""
    if data is None:
        yield None
        return
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("sluice-tls", os.MFD_CLOEXEC)
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.NamedTemporaryFile(prefix="sluice-tls-") as fh:  # mode 0600
        fh.write(data)
        fh.flush()
        yield fh.name
