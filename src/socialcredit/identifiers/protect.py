"""Protection of natural persons' ID numbers: keyed hash for lookup, encryption for display.

The registry never stores a resident ID in clear: subjects are keyed by an HMAC-SHA256 of the
canonical number (so a stolen table cannot be reversed by enumerating the ~10^10 valid numbers
without the key), and an authorised view decrypts a Fernet (AES-128 + HMAC) copy.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

from ..errors import ConfigurationError

PERSON_PREFIX = "P-"


class IdProtector:
    def __init__(self, hash_key: bytes, encryption_key: bytes) -> None:
        if len(hash_key) < 16:
            raise ConfigurationError("the ID hash key must have at least 16 bytes")
        self._hash_key = hash_key
        self._fernet_key = bytes(encryption_key)
        try:
            self._fernet = Fernet(encryption_key)
        except (ValueError, TypeError):
            raise ConfigurationError(
                "the ID encryption key must be a Fernet key (32 url-safe base64-encoded bytes); "
                "make one with: socialcredit keys new"
            ) from None
        self._refusal: str | None = None

    def fingerprint(self) -> str:
        """Names the pair of keys without revealing them: stored with the data, it tells a
        process whose keys differ (every person would be keyed and decrypted wrongly)."""
        h = hmac.new(self._hash_key, b"socialcredit key fingerprint", hashlib.sha256).digest()
        e = hmac.new(self._fernet_key, b"socialcredit key fingerprint", hashlib.sha256).digest()
        return hashlib.sha256(h + e).hexdigest()[:32]

    def refuse(self, reason: str) -> None:
        """From now on, every use of the keys raises ``reason`` (keys that differ from the
        store's: better no answer about a person than a wrong one)."""
        self._refusal = reason

    def _usable(self) -> None:
        if self._refusal is not None:
            raise ConfigurationError(self._refusal)

    def subject_key(self, canonical_number: str) -> str:
        self._usable()
        digest = hmac.new(self._hash_key, canonical_number.encode("ascii"), hashlib.sha256)
        return PERSON_PREFIX + digest.hexdigest()[:32]

    def seal(self, purpose: str, message: str, length: int = 10) -> str:
        """A short MAC of ``message`` under a key derived for ``purpose`` (base32, no padding)."""
        key = hmac.new(self._hash_key, b"purpose:" + purpose.encode(), hashlib.sha256).digest()
        mac = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
        return base64.b32encode(mac).decode("ascii")[:length]

    def encrypt(self, canonical_number: str) -> str:
        self._usable()
        return self._fernet.encrypt(canonical_number.encode("ascii")).decode("ascii")

    def decrypt(self, token: str) -> str:
        self._usable()
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise ConfigurationError(
                "cannot decrypt an ID number: the encryption key differs from the one it was "
                "written with"
            ) from None


def mask_person_name(name: str) -> str:
    """张三 -> 张*, 张三丰 -> 张*丰, Li Wei -> L*** W**: enough to recognise, not to identify."""
    name = name.strip()
    if not name:
        return name
    if all(ord(c) > 0x2E80 for c in name):
        if len(name) <= 2:
            return name[0] + "*"
        return name[0] + "*" * (len(name) - 2) + name[-1]
    return " ".join(part[0] + "*" * (len(part) - 1) for part in name.split())
