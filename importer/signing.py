"""LTI Pro request signing (API.md "Signing").

base string  key=<key>&timestamp=<ms>[&userId=<id>]   (raw values, not URL-encoded)
signature    base64url(HMAC-SHA1(secret, base string)) without '=' padding
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def base_string(key: str, timestamp: str, user_id: str | None = None) -> str:
    text = f"key={key}&timestamp={timestamp}"
    if user_id:
        text += f"&userId={user_id}"
    return text


def sign(secret: str, base: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), base.encode("utf-8"), hashlib.sha1).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def now_ms() -> str:
    return str(int(time.time() * 1000))


def key_hint(key: str) -> str:
    """The most of a key that may be shown: its first four characters."""
    return key[:4] + "..." if len(key) > 4 else "..."


def signed_query(
    key: str, secret: str, user_id: str | None = None, timestamp: str | None = None
) -> tuple[dict[str, str], str]:
    """Query parameters and the X-Lti-Signature value for one request, signed now."""
    timestamp = timestamp or now_ms()
    params = {"key": key, "timestamp": timestamp}
    if user_id:
        params["userId"] = user_id
    return params, sign(secret, base_string(key, timestamp, user_id))
