"""Survey links that work without an account: signed, expiring, naming one survey of one request.

Single use is not in the token (a token cannot know it was used): the request's history can, and
SurveyReturned is recorded once.
"""
from __future__ import annotations

import math
from datetime import datetime

import jwt

AUDIENCE = "servicetrail-survey"


class BadSurveyLink(Exception):
    pass


class ExpiredSurveyLink(BadSurveyLink):
    pass


class SurveyLinks:
    """Mints and reads survey links, HS256 with their own key (SURVEY_LINK_SECRET) and audience: a
    bearer token is never a link, and a link signed with the tokens' key is a forgery."""

    def __init__(self, secret: str, issuer: str, base_url: str) -> None:
        if not secret:
            raise ValueError("survey links need a key")
        self._secret, self._issuer, self.base_url = secret, issuer, base_url.rstrip("/")

    def mint(self, request_id: str, survey_id: str, expires_at: datetime) -> str:
        claims = {"iss": self._issuer, "aud": AUDIENCE, "sub": request_id, "jti": survey_id,
                  "exp": math.ceil(expires_at.timestamp())}  # never expire before the survey does
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def url(self, token: str) -> str:
        return f"{self.base_url}/v1/surveys/{token}"

    def read(self, token: str, now: datetime) -> tuple[str, str]:
        """(request id, survey id) of a genuine, unexpired link; BadSurveyLink otherwise."""
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"], audience=AUDIENCE, issuer=self._issuer,
                                options={"require": ["exp", "sub", "jti"], "verify_exp": False})
        except jwt.PyJWTError as exc:
            raise BadSurveyLink(f"not a survey link of ours: {exc}") from exc
        if now.timestamp() > claims["exp"]:  # judged by the service's clock, so tests move time
            raise ExpiredSurveyLink("this survey link has expired")
        return str(claims["sub"]), str(claims["jti"])
