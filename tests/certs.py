"""Test certificates: a private CA and server certificates it signs for 127.0.0.1, made with ``cryptography``."""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Pair:
    cert_pem: bytes
    key_pem: bytes
    der: bytes  # the certificate as a peer sees it (``getpeercert(binary_form=True)``)


class Authority:
    """A CA whose certificate a client trusts (``cert_file``), issuing server pairs."""

    def __init__(self, directory: Path):
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sluice test CA")])
        ca = (_builder(self._name, self._name, self._key.public_key())
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .sign(self._key, hashes.SHA256()))
        self.cert_file = directory / "ca.pem"
        self.cert_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def issue(self, host: str = "") -> Pair:
        """A pair for ``host`` (a DNS name), or by default for 127.0.0.1 and localhost."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host or "127.0.0.1")])
        names = [x509.DNSName(host)] if host else [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                   x509.DNSName("localhost")]
        cert = (_builder(subject, self._name, key.public_key())
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .sign(self._key, hashes.SHA256()))
        return Pair(cert.public_bytes(serialization.Encoding.PEM),
                    key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()),
                    cert.public_bytes(serialization.Encoding.DER))


def install(pair: Pair, cert_file: Path, key_file: Path) -> None:
    """Put ``pair`` in place the way a deployment does: each file written aside, then renamed over the old one."""
    for data, path in ((pair.key_pem, key_file), (pair.cert_pem, cert_file)):
        aside = path.with_suffix(".new")
        aside.write_bytes(data)
        os.replace(aside, path)


def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2)))
