"""Encryption at rest for the person's private store.

Authenticated encryption (AES-256-GCM from ``cryptography``) with a key derived from
a passphrase by scrypt. The random salt and the scrypt cost travel with the data (in
the store's ``meta`` table); a small sealed check value tells a wrong passphrase
apart from damaged data before anything is read or written.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from assistant.errors import StorageError

NONCE_BYTES = 12
SALT_BYTES = 16
KEY_BYTES = 32
_CHECK = b"steady: this passphrase is right"
_CHECK_AAD = b"steady.check"


class PassphraseNeededError(StorageError):
    """The store is encrypted and no passphrase was given."""


class WrongPassphraseError(StorageError):
    """The passphrase does not unlock the store."""


class SealedDataError(StorageError):
    """A sealed value failed its authentication check (tampered or damaged)."""


@dataclass(frozen=True)
class KdfParams:
    """scrypt cost parameters; kept next to the salt so they can grow in later releases."""

    n: int = 2**15
    """CPU/memory cost (32 MiB of memory with r=8)."""
    r: int = 8
    p: int = 1

    def to_json(self) -> bytes:
        return json.dumps({"name": "scrypt", "n": self.n, "r": self.r, "p": self.p}).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> KdfParams:
        try:
            data = json.loads(raw)
            if data.get("name") != "scrypt":
                raise ValueError(data.get("name"))
            return cls(n=int(data["n"]), r=int(data["r"]), p=int(data["p"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise StorageError(
                "The store's encryption settings are unreadable; restore a backup or "
                "run `steady forget --all`."
            ) from None


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def derive_key(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    """A 256-bit key from ``passphrase`` (UTF-8) and ``salt``."""
    kdf = Scrypt(salt=salt, length=KEY_BYTES, n=params.n, r=params.r, p=params.p)
    return kdf.derive(passphrase.encode("utf-8"))


class Sealer:
    """Seals and opens values with one key; ``aad`` binds a value to where it is kept."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_passphrase(cls, passphrase: str, salt: bytes, params: KdfParams) -> Sealer:
        return cls(derive_key(passphrase, salt, params))

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """``nonce || ciphertext || tag`` with a fresh random nonce."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < NONCE_BYTES + 16:
            raise SealedDataError("A sealed value in the store is too short to be real.")
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
        except InvalidTag:
            raise SealedDataError(
                "A sealed value in the store failed its integrity check."
            ) from None

    def check_value(self) -> bytes:
        """A sealed constant that proves, later, that a passphrase is the right one."""
        return self.seal(_CHECK, _CHECK_AAD)

    def verify(self, check: bytes) -> None:
        """Raise :class:`WrongPassphraseError` unless ``check`` opens with this key."""
        try:
            ok = self.open(check, _CHECK_AAD) == _CHECK
        except SealedDataError:
            ok = False
        if not ok:
            raise WrongPassphraseError(
                "That passphrase does not unlock your Steady data; nothing was changed."
            )
