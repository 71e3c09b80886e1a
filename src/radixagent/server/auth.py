"""Who a request comes from: its API key, checked in constant time, and what it may see.

A session belongs to the key that made it: the session stores a hash of that key (SHA-256,
never the key), and a caller sees a session only when the hashes match. Admin keys
(RADIXAGENT_ADMIN_API_KEYS) see every session, including those made before keys were
configured (they have no owner). With no keys configured the server has one tenant: everyone
sees everything, as before keys.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from radixagent.errors import AuthenticationError
from radixagent.memory.store import SessionRecord
from radixagent.server.config import ServerSettings


@dataclass(frozen=True)
class Caller:
    """Who sends a request: `owner` is the hash of its key (None without keys configured);
    `admin` sees every session."""

    owner: str | None
    admin: bool

    def sees(self, session: SessionRecord) -> bool:
        return self.owns(session.owner)

    def owns(self, owner: str | None) -> bool:
        """Whether a session stored with `owner` is the caller's to see."""
        return self.admin or (self.owner is not None and owner == self.owner)

    @property
    def lists(self) -> str | None:
        """The owner to list sessions of; None lists them all."""
        return None if self.admin else self.owner


OPEN = Caller(owner=None, admin=True)
"""The caller of a server without keys: one tenant, everything visible."""


def key_hash(key: str) -> str:
    """What a session stores of its owner's key."""
    return hashlib.sha256(key.encode()).hexdigest()


def bearer_token(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def identify(settings: ServerSettings, authorization: str) -> Caller:
    """The caller an Authorization header names, comparing keys in constant time; raises
    AuthenticationError for none or a wrong one (when keys are configured)."""
    keys = settings.api_keys
    if not keys:
        return OPEN
    token = bearer_token(authorization)
    if token is None:
        raise AuthenticationError("This server needs an API key, and the request has none.")
    given = token.encode()
    matched = False
    for key in keys:  # every key compared: the time taken does not say which one matched
        matched |= hmac.compare_digest(given, key.encode())
    if not matched:
        raise AuthenticationError("The API key is not one this server accepts.")
    admin = False
    for key in settings.admin_keys:
        admin |= hmac.compare_digest(given, key.encode())
    return Caller(owner=key_hash(token), admin=admin)
