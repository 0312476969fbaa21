"""``email_sha256``: plain SHA-256 by default, a keyed HMAC-SHA256 when the installation sets a key.

The contract (spec/contracts.md) publishes ``email_sha256 = sha256(lower(trim(email)))`` so that
marts can be matched with ad-platform audiences, which hash the same way. Anyone holding a list of
addresses can do the same and re-identify customers. ``PIPELINE_EMAIL_HASH_KEY`` (off by default)
makes it ``HMAC-SHA256(key, email)``: stable within the installation, useless without the key.

The SQL computes the HMAC from the two padded keys of RFC 2104, written by the
``pipeline_settings`` asset into ``meta.pipeline_settings`` (the warehouse already holds the raw
addresses, so the pads reveal nothing more there; they never reach serving):
``sha256(outer_pad || unhex(sha256(inner_pad || encode(email))))``, portable to Spark as
``SHA2``/``UNHEX``/``ENCODE``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from pipeline.config import setting

HASH_KEY_ENV = "PIPELINE_EMAIL_HASH_KEY"
_BLOCK = 64  # SHA-256's block size in bytes (RFC 2104's B)


def hash_key(env: Mapping[str, str] | None = None) -> str | None:
    """``PIPELINE_EMAIL_HASH_KEY``, or None for plain SHA-256; ConfigError when it is too short."""
    return setting(HASH_KEY_ENV, None if env is None else env.get(HASH_KEY_ENV, ""))


def hmac_pads(key: str | bytes | None) -> tuple[bytes | None, bytes | None]:
    """RFC 2104's (inner, outer) padded keys for HMAC-SHA256 with ``key``; (None, None) for none."""
    if key is None:
        return None, None
    raw = key.encode("utf-8") if isinstance(key, str) else key
    if len(raw) > _BLOCK:
        raw = hashlib.sha256(raw).digest()
    padded = raw.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)
