"""The signed tree head: the log's size and head hash, signed with an Ed25519 key kept apart
from the database, so that the chain is anchored outside it.

Inside the database the chain proves only that each event follows the one before. Someone who
can write the database can truncate the tail (and move the head back), or rewrite history and
recompute every hash after it, and ``audit verify`` still passes. A head published before
(on the public route, in each day's open data) fixes the log's state at that moment: a log
that extends it has, at the head's size, the head's hash. ``audit verify --against HEAD``
checks that, and the head's signature shows the registry published it.

The head is canonical JSON: ``{"log", "size", "head", "at", "public_key"}`` and ``signature``
(base64 of the Ed25519 signature over the canonical JSON of the other fields).
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .chain import canonical

FIELDS = ("log", "size", "head", "at", "public_key")


def new_signing_key() -> str:
    """A fresh Ed25519 private key, base64 of its 32 raw bytes."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    raw = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return base64.b64encode(raw).decode("ascii")


def _private(key_b64: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(key_b64))


def public_key_of(key_b64: str) -> str:
    pub = _private(key_b64).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(pub).decode("ascii")


def sign(key_b64: str, *, log: str, size: int, head: str, at: str) -> dict[str, Any]:
    body = {"log": log, "size": size, "head": head, "at": at, "public_key": public_key_of(key_b64)}
    sig = _private(key_b64).sign(canonical(body).encode("utf-8"))
    return {**body, "signature": base64.b64encode(sig).decode("ascii")}


def check_signature(head: dict[str, Any], trusted_public_key: str | None = None) -> str | None:
    """None if ``head`` is well formed and signed by its key (and that key is the trusted one,
    when given); otherwise what is wrong."""
    missing = [f for f in (*FIELDS, "signature") if f not in head]
    if missing:
        return f"not a tree head: {', '.join(missing)} missing"
    if trusted_public_key is not None and head["public_key"] != trusted_public_key:
        return "the head was signed with another key than this registry's"
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(head["public_key"]))
        key.verify(
            base64.b64decode(head["signature"]),
            canonical({f: head[f] for f in FIELDS}).encode("utf-8"),
        )
    except (InvalidSignature, ValueError):
        return "the head's signature does not verify"
    return None
