"""OAuth 2.0 for a Function installed as an app: access tokens from a rotating refresh token.

Secrets: ``SAMSARA_OAUTH_CLIENT_ID``, ``SAMSARA_OAUTH_CLIENT_SECRET`` and
``SAMSARA_OAUTH_REFRESH_TOKEN`` (the refresh token the authorization-code exchange returned). Samsara
rotates refresh tokens: every refresh answers a new one and the old one stops working. So the current
refresh token lives in Function Storage (``oauth/<function>.json``), written the moment it arrives,
with a conditional write, and refreshing happens under a lease, so two runs never spend the same
refresh token. The secret is read again only when it changes (a user who re-authorised pastes the
new one). An access token is refreshed when it has less than a run's length left, and once more when
the API answers 401; a refused refresh (the grant was revoked) ends the run with "re-authorise".
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from samsara_fmc.exceptions import ConfigurationError, TransportError
from samsara_fmc.state import Lease
from samsara_fmc.storage import ObjectStore

__all__ = ["OAUTH_SECRETS", "OAuthSession"]

OAUTH_SECRETS = ("SAMSARA_OAUTH_CLIENT_ID", "SAMSARA_OAUTH_CLIENT_SECRET", "SAMSARA_OAUTH_REFRESH_TOKEN")
_MIN_LIFETIME_S = 16 * 60
"""Refresh when the access token has less than this left: it must outlive a whole run."""
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


@dataclass
class _Tokens:
    access_token: str | None
    refresh_token: str
    expires_at: float
    seed: str
    version: str | None


class OAuthSession:
    """Access tokens for one Function, from the refresh token in storage (or the secret at first)."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        token_url: str,
        store: ObjectStore,
        function: str,
    ) -> None:
        parts = urllib.parse.urlsplit(token_url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
            raise ConfigurationError("the OAuth token URL must be https (http only to loopback)")
        self._client = (client_id, client_secret)
        self._secret_refresh = refresh_token
        self.token_url = token_url
        self.store = store
        self.key = f"oauth/{function}.json"
        self._lease_key = f"leases/oauth/{function}.json"
        self.refreshes = 0
        self._seen: set[str] = set()

    def __repr__(self) -> str:
        return f"OAuthSession(token_url={self.token_url!r})"

    def _load(self) -> _Tokens:
        raw, version = self.store.get_versioned(self.key)
        seed = _fingerprint(self._secret_refresh)
        if raw is not None:
            try:
                doc = json.loads(raw)
                if doc.get("seed") == seed:
                    self._seen.update(str(doc[k]) for k in ("accessToken", "refreshToken") if doc.get(k))
                    return _Tokens(
                        doc.get("accessToken"),
                        str(doc["refreshToken"]),
                        float(doc["expiresAt"]),
                        seed,
                        version,
                    )
            except (ValueError, KeyError, TypeError):
                pass
        # First use, or the secret holds a new grant: start from the secret's refresh token.
        return _Tokens(None, self._secret_refresh, 0.0, seed, version)

    def tokens_in_use(self) -> list[str]:
        """Every access and refresh token this session has handled, for the scrubber."""
        return list(self._seen)

    def access_token(self, *, force: bool = False) -> str:
        """A current access token: the stored one, or a fresh one when it is short-lived or ``force``d."""
        tokens = self._load()
        if tokens.access_token and not force and tokens.expires_at - time.time() > _MIN_LIFETIME_S:
            return tokens.access_token
        stale = tokens.access_token
        lease = Lease(self.store, self._lease_key, owner=None, until=time.time() + 60)
        for _ in range(40):  # another run may be refreshing: wait for it, then use what it stored
            if lease.acquire():
                break
            time.sleep(0.25)
        else:
            raise TransportError(
                "another run held the OAuth refresh lease for 10 s", "POST", "/oauth2/token", 1, 10.0
            )
        try:
            tokens = self._load()
            if (
                tokens.access_token
                and tokens.access_token != stale
                and tokens.expires_at - time.time() > _MIN_LIFETIME_S
            ):
                return tokens.access_token  # refreshed by another run meanwhile
            return self._refresh(tokens)
        finally:
            lease.release()

    def _refresh(self, tokens: _Tokens) -> str:
        body = urllib.parse.urlencode(
            {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        ).encode()
        basic = base64.b64encode(f"{self._client[0]}:{self._client[1]}".encode()).decode()
        req = urllib.request.Request(
            self.token_url,
            data=body,
            method="POST",
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                doc: dict[str, Any] = json.loads(resp.read())
        except urllib.error.HTTPError as e:
            detail = _oauth_error(e)
            if e.code in (400, 401) and detail in ("invalid_grant", "invalid_client", "unauthorized_client"):
                msg = (
                    f"Samsara refused the OAuth refresh (`{detail}`): the grant was revoked or the client "
                    "credentials changed; re-authorise the app and put the new refresh token in the "
                    "`SAMSARA_OAUTH_REFRESH_TOKEN` secret (check the client ID and secret too)"
                )
                raise ConfigurationError(msg) from None
            raise TransportError(
                f"the OAuth token endpoint answered {e.code}", "POST", "/oauth2/token", 1, 0.0
            ) from None
        except (urllib.error.URLError, OSError) as e:
            raise TransportError(
                f"the OAuth token endpoint could not be reached: {type(e).__name__}",
                "POST",
                "/oauth2/token",
                1,
                0.0,
            ) from None
        try:
            access, refresh, expires_in = (
                str(doc["access_token"]),
                str(doc["refresh_token"]),
                float(doc["expires_in"]),
            )
        except (KeyError, TypeError, ValueError):
            raise TransportError(
                "the OAuth token endpoint answered without `access_token`, `refresh_token` and `expires_in`",
                "POST",
                "/oauth2/token",
                1,
                0.0,
            ) from None
        stored = {
            "seed": tokens.seed,
            "refreshToken": refresh,
            "accessToken": access,
            "expiresAt": time.time() + expires_in,
            "refreshedAt": time.time(),
        }
        self._seen.update((access, refresh))
        # The old refresh token is spent: store the new one before anything else can fail.
        self.store.put(self.key, json.dumps(stored).encode())
        self.refreshes += 1
        return access


def _oauth_error(e: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(e.read()).get("error", ""))
    except (ValueError, AttributeError):
        return ""
