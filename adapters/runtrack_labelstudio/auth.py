"""Label Studio credentials: a legacy token, or a personal access token (PAT) exchanged for access tokens.

* A key that is not a JWT is a **legacy token**, sent as ``Authorization: Token <key>``.
* A JWT is a **personal access token**: a long-lived simple-jwt *refresh* token. It is never sent to the API
  itself; ``POST <base_url>/api/token/refresh/ {"refresh": PAT}`` (no auth header) gives a short-lived access
  token (5 minutes on a default server) that is sent as ``Authorization: Bearer <access>``, cached until
  shortly before it expires and refreshed under a lock, so many threads cause one refresh.
* The refresh URL keeps the base URL's path prefix (``https://host/ls`` refreshes at
  ``https://host/ls/api/token/refresh/``; the vendor SDK posts to ``https://host/api/token/refresh/``).
* A PAT without ``exp`` or with ``exp`` in the past is an :class:`AuthenticationError` before any request.

The payload of a JWT is decoded without verifying its signature: only ``exp``, ``iat`` and ``token_type`` are
read, to choose the scheme and plan refreshes. The server verifies the token.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from runtrack.errors import AuthenticationError, ConfigurationError, PayloadError
from runtrack.http import DEFAULT_DEADLINE, ErrorInfo, HeaderAuth, RefreshingAuth, Transport, default_error_message
from runtrack.paginate import Request

if TYPE_CHECKING:
    import requests

__all__ = ["PersonalAccessTokenAuth", "decode_jwt_payload", "make_auth", "now"]

PLATFORM = "labelstudio"
REFRESH_PATH = "api/token/refresh/"
#: Access-token lifetime assumed when the token carries no ``exp`` (simple-jwt's default).
DEFAULT_ACCESS_LIFETIME = 300.0
#: Refresh this many seconds before the access token expires (capped at half its lifetime).
LEEWAY = 30.0
PAT_HELP = "create a new personal access token in Label Studio (Account & Settings → Personal Access Token)"


def now() -> float:
    """The clock used for token expiry (a module function, so tests can move time)."""
    return time.time()


def decode_jwt_payload(token: str) -> dict[str, Any] | None:
    """The payload of a JWT (three base64url parts) without verifying it, or None when ``token`` is no JWT."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    text = parts[1]
    try:
        payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def check_pat(payload: Mapping[str, Any], current: float) -> float:
    """Validate a PAT's claims; return its ``exp``. Raises :class:`AuthenticationError` or
    :class:`ConfigurationError` with what to do."""
    token_type = payload.get("token_type")
    if token_type == "access":
        raise ConfigurationError(
            "api_key is a Label Studio *access* token (it expires within minutes); pass the personal access "
            "token itself (the long-lived refresh token shown once when it was created), or a legacy token",
            platform=PLATFORM,
        )
    if token_type not in (None, "refresh"):
        raise ConfigurationError(
            f"api_key is a JWT of type {str(token_type)[:40]!r}, not a Label Studio personal access token "
            "(token_type 'refresh') nor a legacy token",
            platform=PLATFORM,
        )
    exp = payload.get("exp")
    if exp is None:
        raise AuthenticationError(
            f"the personal access token in api_key has no expiration (no 'exp' claim), so it cannot be "
            f"refreshed safely; {PAT_HELP}",
            platform=PLATFORM,
        )
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        raise AuthenticationError(
            f"the personal access token in api_key has an unreadable 'exp' claim; {PAT_HELP}", platform=PLATFORM
        )
    if exp <= current:
        raise AuthenticationError(
            f"the personal access token in api_key expired at {_utc(exp)}; {PAT_HELP}", platform=PLATFORM
        )
    return float(exp)


class PersonalAccessTokenAuth(RefreshingAuth):
    """``Authorization: Bearer <access>`` from a PAT; see the module docstring.

    ``refreshes`` counts the access tokens obtained so far.
    """

    def __init__(
        self,
        pat: str,
        *,
        base_url: str,
        timeout: Any = None,
        max_retries: int = 4,
        clock: Callable[[], float] | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
        verify: bool | str = True,
    ) -> None:
        self._pat = pat
        self._pat_clock = clock or (lambda: now())
        self._pat_exp = check_pat(decode_jwt_payload(pat) or {}, self._pat_clock())
        self.refreshes = 0
        # Its own transport: the refresh request carries no Authorization header, and may not go through the
        # main transport, whose auth is this object (its lock is held while refreshing).
        self._refresh_transport = Transport(
            base_url,
            platform=PLATFORM,
            auth=HeaderAuth({}, secret_values=[pat]),
            timeout=timeout,
            max_retries=max_retries,
            describe_error=describe_refresh_error,
            deadline=deadline,
            verify=verify,
        )
        super().__init__(self._obtain, leeway=LEEWAY, secret_values=[pat], clock=self._pat_clock)

    @property
    def refresh_url(self) -> str:
        return self._refresh_transport.base_url + "/" + REFRESH_PATH

    def _obtain(self) -> tuple[str, float]:
        current = self._pat_clock()
        if self._pat_exp <= current:
            raise AuthenticationError(
                f"the personal access token expired at {_utc(self._pat_exp)}; {PAT_HELP}", platform=PLATFORM
            )
        body = self._refresh_transport.json(
            Request(method="POST", path=REFRESH_PATH, json={"refresh": self._pat}, idempotent=True)
        )
        access = body.get("access") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access:
            raise PayloadError(
                f"POST {REFRESH_PATH}: expected {{'access': <token>}}, got {type(body).__name__}",
                platform=PLATFORM,
                path="$.access",
            )
        self.refreshes += 1
        return access, access_expiry(access, current)

    def close(self) -> None:
        self._refresh_transport.close()

    def __repr__(self) -> str:
        return f"PersonalAccessTokenAuth(refresh_url={self.refresh_url!r}, refreshes={self.refreshes})"


def access_expiry(access: str, current: float) -> float:
    """When to treat ``access`` as expired, on the local clock, as :class:`RefreshingAuth` expects it.

    The lifetime is measured on the server's clock (``exp - iat``), so a skewed local clock does not matter.
    RefreshingAuth refreshes ``LEEWAY`` seconds early; a short-lived token is refreshed at half its life instead.
    """
    payload = decode_jwt_payload(access) or {}
    exp, iat = payload.get("exp"), payload.get("iat")
    if isinstance(exp, (int, float)) and isinstance(iat, (int, float)) and exp > iat:
        lifetime = float(exp - iat)
    elif isinstance(exp, (int, float)) and exp > current:
        lifetime = float(exp - current)
    else:
        lifetime = DEFAULT_ACCESS_LIFETIME
    early = min(LEEWAY, lifetime / 2)
    return current + lifetime - early + LEEWAY


def describe_refresh_error(response: requests.Response) -> ErrorInfo:
    message = default_error_message(response)
    if response.status_code in (400, 401, 403):
        message += (
            " (Label Studio refused the personal access token: revoked, blacklisted, or issued by another "
            f"server; {PAT_HELP})"
        )
    return ErrorInfo(message=message)


def make_auth(
    api_key: str,
    *,
    base_url: str,
    timeout: Any,
    max_retries: int,
    deadline: float | None = DEFAULT_DEADLINE,
    verify: bool | str = True,
) -> HeaderAuth | PersonalAccessTokenAuth:
    """The auth for ``api_key``: legacy token or personal access token, decided by its shape."""
    key = api_key.strip()
    if not key:
        raise ConfigurationError("api_key is empty", platform=PLATFORM)
    if decode_jwt_payload(key) is None:
        return HeaderAuth({"Authorization": "Token " + key}, secret_values=[key])
    return PersonalAccessTokenAuth(
        key, base_url=base_url, timeout=timeout, max_retries=max_retries, deadline=deadline, verify=verify
    )
