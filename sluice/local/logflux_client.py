"""The LogFlux doc's `encrypt_log`, as a client would write it, for tests and benchmarks.

It follows the doc's snippet line by line, independently of the SDK's encryption (sdk/python/sluice_sdk/logflux.py).
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC


def encrypt_log(message, secret, salt=None):
    # As in logflux.txt, except that a salt may be passed in to reuse it for a session.
    salt = salt or os.urandom(32)
    iv = os.urandom(12)
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=600000, backend=default_backend())
    key = kdf.derive(secret.encode())
    cipher = Cipher(algorithms.AES(key), modes.GCM(iv), backend=default_backend())
    encryptor = cipher.encryptor()
    ciphertext = encryptor.update(message.encode()) + encryptor.finalize()
    return {
        "payload": base64.b64encode(ciphertext + encryptor.tag).decode(),
        "iv": base64.b64encode(iv).decode(),
        "salt": base64.b64encode(salt).decode(),
    }


def entry(message: str, secret: str, loglevel: int = 7, node: str = "app-server", salt: bytes | None = None,
          timestamp: str = "2024-01-17T10:30:45Z") -> dict:
    return {"node": node, "loglevel": loglevel, "timestamp": timestamp, "encryption_mode": 1,
            **encrypt_log(message, secret, salt)}
