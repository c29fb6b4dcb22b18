"""The audit actor of the current request."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from urakata.platform.audit import Actor, user_actor
from urakata.platform.identity import UserAccount
from urakata.portal.observability import request_id


def current_actor() -> Actor:
    """The logged-in user (or an anonymous visitor) with this request's id and client IP."""
    ip = request.remote_addr or ""
    if current_user and current_user.is_authenticated:
        return user_actor(current_user.account, request_id(), ip)
    return Actor(type="anonymous", request_id=request_id(), ip=ip)


def actor_for(user: UserAccount) -> Actor:
    """A user acting before the login completes (password, second factor)."""
    return user_actor(user, request_id(), request.remote_addr or "")
