"""Where signing keys come from: the environment (never a silent default), or for RS256 bearer
tokens a production identity provider's JWKS (a URL or a file).

Only RSA keys for RS256 are kept: a symmetric ("oct") key in the set must not turn into an HS256
secret, and the algorithm comes from which key verifies, never from the token alone.

A URL is read again in a background thread, never on the request path: a token naming an unknown
key id asks for a refresh (at most every `retry_seconds`, so made-up key ids cannot hammer the
identity provider) and is refused meanwhile; the provider publishes a new key before signing with it.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import structlog
from jwt import PyJWK, PyJWKSet, PyJWTError
from pydantic import SecretStr

log = structlog.get_logger(__name__)
ALGORITHM = "RS256"


class MissingSecret(RuntimeError):
    """A key the process needs is missing or unusable: it must refuse to start (a one-line message)."""


def configured_secret(value: SecretStr | None, dev_value: str, dev_secrets: bool, missing: str) -> str:
    """A signing key from the environment, or its development value when DEV_SECRETS=true (`make run`,
    the tests); otherwise MissingSecret(missing), so a deployment without its key stops at start-up."""
    if value is not None and value.get_secret_value():
        return value.get_secret_value()
    if dev_secrets:
        return dev_value
    raise MissingSecret(missing)


class JwksError(MissingSecret):
    """The JWKS could not be read, or holds no RS256 key."""


def rs256_keys(document: dict[str, Any]) -> dict[str | None, PyJWK]:
    """The RS256 keys of a JWKS document, by key id."""
    try:
        found = PyJWKSet.from_dict(document).keys
    except (PyJWTError, AttributeError, TypeError, ValueError) as exc:
        raise JwksError(f"not a usable JWKS: {exc}") from exc
    keys = {k.key_id: k for k in found
            if k.key_type == "RSA" and k.algorithm_name == ALGORITHM and k.public_key_use in (None, "sig")}
    if not keys:
        raise JwksError("the JWKS holds no RSA key for RS256 signatures")
    return keys


class JwksKeys:
    """The identity provider's public keys; `key(kid)` never waits for the network."""

    def __init__(self, source: str, refresh_seconds: float = 300, retry_seconds: float = 30,
                 timeout: float = 5) -> None:
        self.source, self._refresh, self._retry, self._timeout = source, refresh_seconds, retry_seconds, timeout
        self._keys: dict[str | None, PyJWK] = {}
        self._loaded_at = self._tried_at = 0.0
        self._busy = threading.Lock()
        self._load()
        if not self._keys and not self._is_url:
            raise JwksError(f"no RS256 key in JWKS file {source}")  # a bad file is a configuration error

    @property
    def _is_url(self) -> bool:
        return self.source.startswith(("https://", "http://"))

    def key(self, kid: str | None) -> PyJWK | None:
        """The key with that id (a token without one: the only key, if there is one), else None."""
        now = time.monotonic()
        keys = self._keys
        found = keys.get(kid) if kid is not None else (next(iter(keys.values())) if len(keys) == 1 else None)
        stale = now - self._loaded_at > self._refresh
        if (stale or found is None) and now - self._tried_at > self._retry:
            self._refresh_in_background()
        return found

    def _refresh_in_background(self) -> None:
        if self._busy.locked():
            return
        self._tried_at = time.monotonic()  # before the thread runs: the next token must not start another
        threading.Thread(target=self._load, name="jwks-refresh", daemon=True).start()

    def _load(self) -> None:
        if not self._busy.acquire(blocking=False):
            return
        try:
            self._tried_at = time.monotonic()
            self._keys = rs256_keys(self._read())
            self._loaded_at = time.monotonic()
        except (JwksError, OSError, ValueError, httpx.HTTPError) as exc:
            # Keep the keys we have: an identity provider's outage must not log everyone out.
            log.warning("jwks_unreadable", source=self.source, error=str(exc))
        finally:
            self._busy.release()

    def _read(self) -> dict[str, Any]:
        if self._is_url:
            response = httpx.get(self.source, timeout=self._timeout, follow_redirects=False)
            response.raise_for_status()
            return response.json()
        return json.loads(Path(self.source).read_text())
