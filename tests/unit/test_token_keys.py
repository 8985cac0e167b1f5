"""Where keys come from: no silent development secret, RS256 from an identity provider's JWKS, and
no algorithm confusion (none, HS256 keyed with the public key, another RSA algorithm or key)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.auth import InvalidToken, Role, TokenService
from shared.keys import JwksError, JwksKeys, MissingSecret
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PROVIDER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STRANGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str, **extra: str) -> dict[str, Any]:
    return {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig", **extra}


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk(PROVIDER, "k1", alg="RS256"),
                                         {"kty": "oct", "kid": "sym", "k": "c2VjcmV0LXNoYXJlZC1ieS1hdHRhY2tlcg"}]}))
    return path


def claims(role: str = "agent", **changes: Any) -> dict[str, Any]:
    return {"iss": "servicetrail", "aud": "servicetrail", "sub": "idp-user-1", "role": role,
            "exp": int(time.time()) + 600, **changes}


def hs256_by_hand(key: bytes, header: dict[str, Any]) -> str:
    """An HS256 token keyed with anything (PyJWT itself refuses a PEM key as an HMAC secret)."""
    def part(value: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")
    signing_input = part(header) + b"." + part(claims())
    signature = base64.urlsafe_b64encode(hmac.new(key, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    return (signing_input + b"." + signature).decode()


def test_without_a_secret_tokens_refuse_to_start_unless_development_is_explicit():
    with pytest.raises(MissingSecret, match="JWT_SECRET is not set") as refused:
        TokenService(Settings(jwt_secret=None, dev_secrets=False))
    assert "\n" not in str(refused.value)
    development = TokenService(Settings(jwt_secret=None, dev_secrets=True))
    assert development.verify(development.mint(Role.agent, "a")).role is Role.agent
    with pytest.raises(ValueError, match="SURVEY_LINK_SECRET must differ"):
        Settings(jwt_secret="the-same-key-for-both-of-them", survey_link_secret="the-same-key-for-both-of-them")


def test_a_service_started_without_a_secret_says_so_in_one_line_and_exits():
    env = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "DEV_SECRETS", "JWT_JWKS_URL",
                                                            "JWT_JWKS_FILE", "DATABASE_URL")}
    for service in ("intake", "feedback"):
        done = subprocess.run([sys.executable, "-m", "shared.cli", "serve", service, "--port", "1"], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().count("\n") == 0 and "JWT_SECRET is not set" in done.stderr
    env["JWT_SECRET"] = "a-production-secret-for-this-test-only"
    done = subprocess.run([sys.executable, "-m", "shared.cli", "serve", "feedback", "--port", "1"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "SURVEY_LINK_SECRET is not set" in done.stderr, done.stderr
    env["SURVEY_LINK_SECRET"] = "a-production-link-secret-for-this-test-only"
    for service in ("intake", "feedback"):  # customers' data keys are wrapped by a key of its own
        done = subprocess.run([sys.executable, "-m", "shared.cli", "serve", service, "--port", "1"], env=env,
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and "KEYSTORE_MASTER_KEY is not set" in done.stderr, done.stderr
    env["KEYSTORE_MASTER_KEY"] = "bm90LWJhc2U2NA"
    done = subprocess.run([sys.executable, "-m", "shared.cli", "serve", "intake", "--port", "1"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "KEYSTORE_MASTER_KEY" in done.stderr and "base64" in done.stderr, done.stderr


def test_rs256_tokens_of_the_identity_provider_are_accepted_from_a_jwks_file(jwks_file: Path):
    tokens = TokenService(Settings(jwt_secret=None, dev_secrets=False, jwt_jwks_file=str(jwks_file)))
    token = jwt.encode(claims("dispatcher"), PROVIDER, algorithm="RS256", headers={"kid": "k1"})
    principal = tokens.verify(token)
    assert (principal.role, principal.subject) == (Role.dispatcher, "idp-user-1")
    assert tokens.verify(token) == principal  # the second time from the cache
    with pytest.raises(MissingSecret, match="identity provider"):
        tokens.mint(Role.agent, "x")  # nothing to sign with: the provider mints


def test_wrong_keys_and_algorithms_are_refused(jwks_file: Path):
    both = TokenService(Settings(jwt_secret="our-own-hs256-secret-for-local-tokens", dev_secrets=False,
                                 jwt_jwks_file=str(jwks_file)))
    idp_only = TokenService(Settings(jwt_secret=None, dev_secrets=False, jwt_jwks_file=str(jwks_file)))
    public_pem = PROVIDER.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
    forged = {
        "another RSA key": jwt.encode(claims(), STRANGER, algorithm="RS256", headers={"kid": "k1"}),
        "an unknown key id": jwt.encode(claims(), STRANGER, algorithm="RS256", headers={"kid": "k9"}),
        "alg none": jwt.encode(claims(), None, algorithm="none"),
        "HS256 keyed with the public key": hs256_by_hand(public_pem, {"alg": "HS256", "typ": "JWT", "kid": "k1"}),
        "HS256 keyed with a symmetric JWKS key": hs256_by_hand(b"secret-shared-by-attacker",
                                                               {"alg": "HS256", "typ": "JWT", "kid": "sym"}),
        "RS384 with the right key": jwt.encode(claims(), PROVIDER, algorithm="RS384", headers={"kid": "k1"}),
        "PS256 with the right key": jwt.encode(claims(), PROVIDER, algorithm="PS256", headers={"kid": "k1"}),
        "another audience": jwt.encode(claims(aud="elsewhere"), PROVIDER, algorithm="RS256", headers={"kid": "k1"}),
        "no role": jwt.encode({k: v for k, v in claims().items() if k != "role"}, PROVIDER, algorithm="RS256",
                              headers={"kid": "k1"}),
    }
    for name, token in forged.items():
        for tokens in (both, idp_only):
            with pytest.raises(InvalidToken):
                tokens.verify(token)
                pytest.fail(f"accepted: {name}")
    dev_signed = jwt.encode(claims(), "servicetrail-local-development-secret-change-me", algorithm="HS256")
    with pytest.raises(InvalidToken):
        idp_only.verify(dev_signed)  # with only a JWKS configured, no HS256 token is taken at all
    local = both.mint(Role.agent, "desk-1")
    assert both.verify(local).subject == "desk-1"
    assert both.verify(jwt.encode(claims(), PROVIDER, algorithm="RS256", headers={"kid": "k1"})).role is Role.agent


def test_a_jwks_without_rs256_keys_or_unreadable_refuses_to_start(tmp_path: Path):
    symmetric_only = tmp_path / "jwks.json"
    symmetric_only.write_text(json.dumps({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}))
    for source in (symmetric_only, tmp_path / "missing.json"):
        with pytest.raises(JwksError):
            JwksKeys(str(source))


def test_a_jwks_url_is_read_and_a_new_key_is_fetched_in_the_background(tmp_path: Path):
    import http.server
    import threading

    published = {"keys": [jwk(PROVIDER, "k1")]}

    class Jwks(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps(published).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        tokens = TokenService(Settings(jwt_secret=None, dev_secrets=False, jwt_jwks_url=url,
                                       jwt_jwks_retry_seconds=0.05))
        assert tokens.verify(jwt.encode(claims(), PROVIDER, algorithm="RS256", headers={"kid": "k1"}))
        published["keys"].append(jwk(STRANGER, "k2"))  # the provider rotates: a new key, published first
        rotated = jwt.encode(claims(), STRANGER, algorithm="RS256", headers={"kid": "k2"})
        deadline = time.monotonic() + 5
        while True:
            try:
                assert tokens.verify(rotated).role is Role.agent
                break
            except InvalidToken:
                assert time.monotonic() < deadline, "the new key was never fetched"
                time.sleep(0.06)
    finally:
        server.shutdown()
