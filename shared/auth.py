"""Bearer JWTs: minting for local use, verification (HS256, or RS256 from a JWKS), per-endpoint role checks."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Awaitable, Callable

import jwt
from fastapi import Depends, HTTPException, Request
from jwt import PyJWK

from shared.clock import Clock, SystemClock
from shared.keys import ALGORITHM as JWKS_ALGORITHM
from shared.keys import JwksKeys, MissingSecret, configured_secret
from shared.settings import DEV_JWT_SECRET, Settings

NO_JWT_SECRET = ("JWT_SECRET is not set: give bearer tokens a key (JWT_SECRET for HS256, or JWT_JWKS_URL / "
                 "JWT_JWKS_FILE for an identity provider's RS256 tokens); DEV_SECRETS=true is for local development only")


class Role(str, Enum):
    customer = "customer"
    agent = "agent"
    technician = "technician"
    dispatcher = "dispatcher"
    analyst = "analyst"
    admin = "admin"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role


class InvalidToken(Exception):
    pass


class TokenService:
    """Bearer JWTs with issuer, audience, expiry, `role` and `sub` claims: HS256 with JWT_SECRET
    (what `servicetrail token` mints), and RS256 from an identity provider's JWKS when configured."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        jwks_source = settings.jwt_jwks_url or settings.jwt_jwks_file
        # With a JWKS and no JWT_SECRET, only the identity provider's tokens are taken.
        self._secret = None if jwks_source and not settings.jwt_secret else configured_secret(
            settings.jwt_secret, DEV_JWT_SECRET, settings.dev_secrets, NO_JWT_SECRET)
        self._jwks = JwksKeys(jwks_source, settings.jwt_jwks_refresh_seconds,
                              settings.jwt_jwks_retry_seconds) if jwks_source else None
        self._issuer, self._audience = settings.jwt_issuer, settings.jwt_audience
        self._ttl = timedelta(seconds=settings.jwt_ttl_seconds)
        self._clock = clock or SystemClock()
        # Verifying a signature costs more than the rest of a small request: remember the answer
        # for a token until it expires (bounded, oldest dropped first).
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def mint(self, role: Role | str, subject: str, ttl: timedelta | None = None) -> str:
        if self._secret is None:
            raise MissingSecret("this deployment takes its tokens from the identity provider (JWKS); "
                                "set JWT_SECRET to mint local ones")
        now = self._clock.now()
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject,
            "role": Role(role).value,
            "iat": int(now.timestamp()),
            "exp": int((now + (ttl or self._ttl)).timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None and cached[1] > self._clock.now().timestamp():
            return cached[0]
        principal, expires = self._decode(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > 4096:
            self._verified.popitem(last=False)
        return principal

    def principal_of(self, authorization: str | None) -> Principal | None:
        """The principal of an `Authorization: Bearer` header value; None when it holds none."""
        token = bearer_token(authorization)
        if token is None:
            return None
        try:
            return self.verify(token)
        except InvalidToken:
            return None

    def _key(self, token: str) -> tuple[str, str | PyJWK]:
        """The one algorithm and key this token may be verified with, chosen by our configuration:
        HS256 only with our secret, RS256 only with the provider's RSA keys (no `none`, no confusion)."""
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg")
        if algorithm == "HS256" and self._secret is not None:
            return algorithm, self._secret
        if algorithm == JWKS_ALGORITHM and self._jwks is not None:
            kid = header.get("kid")
            key = self._jwks.key(kid if isinstance(kid, str) else None)
            if key is None:
                raise InvalidToken(f"no signing key {kid!r} in the identity provider's JWKS")
            return algorithm, key
        raise InvalidToken(f"tokens signed with {algorithm!r} are not accepted")

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            algorithm, key = self._key(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iss", "aud", "sub", "role"]},
            )
            return Principal(subject=str(claims["sub"]), role=Role(claims["role"])), float(claims["exp"])
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken(str(exc)) from exc


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, if it holds one."""
    scheme, _, token = (authorization or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def authenticated(request: Request) -> Principal:
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise _unauthorized("missing bearer token in the Authorization header")
    try:
        return request.app.state.tokens.verify(token)
    except InvalidToken as exc:
        raise _unauthorized(f"invalid token: {exc}") from exc


def allowed_roles(*roles: Role) -> frozenset[Role]:
    """The roles given, and admin, who may do everything."""
    return frozenset(roles) | {Role.admin}


def check_role(principal: Principal, allowed: frozenset[Role]) -> None:
    if principal.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise HTTPException(403, f"role {principal.role.value!r} may not do this; allowed: {names}")


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    allowed = allowed_roles(*roles)

    async def check(principal: Principal = Depends(authenticated)) -> Principal:
        check_role(principal, allowed)
        return principal

    return check
