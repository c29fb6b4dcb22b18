"""API key authentication: ``Authorization: Bearer uk_<prefix>_<secret>``.

The key carries its shop (DESIGN §4): a successful check binds the request's session to
that shop, so every query the endpoint runs is walled in by RLS and the ORM hook. The
login cookie plays no part here; a logged-in browser without a key gets 401 like anyone.
"""

from __future__ import annotations

from flask import g, request
from werkzeug.exceptions import Unauthorized

from urakata.platform import apikeys
from urakata.portal.requestdb import db_session

SECURITY_SCHEME = "ApiKeyAuth"
REALM = "urakata-api"


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer …`` header (scheme case-insensitive)."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def unauthorized(message: str, error: str | None = None) -> Unauthorized:
    """A 401 whose JSON body and ``WWW-Authenticate`` header say what to send (RFC 6750)."""
    challenge = f'Bearer realm="{REALM}"'
    if error:
        challenge += f', error="{error}"'
    exc = Unauthorized(description=message)
    # errors.handle_http_exception copies data["headers"] onto the JSON response.
    exc.data = {"headers": {"WWW-Authenticate": challenge}}
    return exc


def authenticate_api_request() -> None:
    """``before_request`` of every API resource blueprint: find the key or answer 401."""
    token = bearer_token()
    if token is None:
        raise unauthorized("send an API key as 'Authorization: Bearer uk_…'")
    session = db_session()
    key = apikeys.authenticate_token(session, token)
    if key is None:
        # Unknown, revoked and suspended-shop keys look alike to the caller.
        raise unauthorized("the API key is invalid or revoked", error="invalid_token")
    session.bind_tenant(key.shop_id)
    g.api_key = key
    g.shop = key.shop
    if apikeys.use_is_stale(key):  # the row just read says: no write needed this minute
        apikeys.touch_last_used(session, key.id)
