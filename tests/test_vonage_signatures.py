"""Vonage webhook signatures: SMS API `sig` and Messages API signed JWTs."""

from __future__ import annotations

import hashlib
import warnings
from typing import Any

import jwt
import pytest
from vonage_http_client.auth import Auth

from bridge.errors import InvalidInput
from bridge.sms.signatures import (
    JWT_IAT_FUTURE_SKEW_SECONDS,
    JWT_MAX_AGE_SECONDS,
    MAX_TIMESTAMP_SKEW_SECONDS,
    SignatureMethod,
    sign_sms_params,
    signing_string,
    verify_messages_jwt,
    verify_sms_signature,
)

NOW = 1_700_000_000.0
SECRET = "sig-secret-for-tests-" + "0123456789abcdef" * 3
METHODS: list[SignatureMethod] = ["md5hash", "md5", "sha1", "sha256", "sha512"]

INBOUND = {
    "msisdn": "447700900001",
    "to": "447700900000",
    "messageId": "0A0000000123ABCD1",
    "text": "Tom & Jerry: a=b?",
    "type": "text",
    "keyword": "TOM",
    "message-timestamp": "2023-11-14 22:13:20",
    "timestamp": str(int(NOW)),
    "nonce": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
}


def signed(method: SignatureMethod, **changes: str | None) -> dict[str, str]:
    params = {**INBOUND, "sig": sign_sms_params(INBOUND, secret=SECRET, method=method)}
    for key, value in changes.items():
        params.pop(key, None)
        if value is not None:
            params[key] = value
    return params


def test_signing_string_follows_the_documented_rules() -> None:
    params = {"b": "x&y", "a": "1=2", "sig": "ignored", "a-b": "c"}
    assert signing_string(params) == "&a=1_2&a-b=c&b=x_y"


def test_md5hash_appends_the_secret_to_the_string() -> None:
    params = {"b": "x&y", "a": "1=2", "timestamp": "1700000000"}
    expected = hashlib.md5(b"&a=1_2&b=x_y&timestamp=1700000000" + SECRET.encode()).hexdigest()
    assert sign_sms_params(params, secret=SECRET, method="md5hash") == expected


@pytest.mark.parametrize("method", ["md5", "sha1", "sha256", "sha512"])
def test_matches_the_vonage_sdk_both_ways(method: Any) -> None:
    auth = Auth(api_key="abcd1234", signature_secret=SECRET, signature_method=method)
    sdk_sig = auth.sign_params(dict(INBOUND))
    verify_sms_signature({**INBOUND, "sig": sdk_sig}, secret=SECRET, method=method, now=NOW)
    ours = sign_sms_params(INBOUND, secret=SECRET, method=method)
    assert auth.check_signature({**INBOUND, "sig": ours.upper()})
    assert ours == sdk_sig


ACCEPTED = [
    ("correct", {}, NOW),
    ("upper-case-hex", "upper", NOW),
    ("timestamp-at-past-edge", {}, NOW + MAX_TIMESTAMP_SKEW_SECONDS),
    ("timestamp-at-future-edge", {}, NOW - MAX_TIMESTAMP_SKEW_SECONDS),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("changes", "now"), [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED]
)
def test_sms_signature_accepted(method: SignatureMethod, changes: Any, now: float) -> None:
    params = signed(method)
    if changes == "upper":
        params["sig"] = params["sig"].upper()
    assert verify_sms_signature(params, secret=SECRET, method=method, now=now) is None


REFUSED = [
    ("wrong-secret", {"secret": "another-secret"}, "does not match"),
    ("tampered-text", {"text": "Tom & Jerry: a=c?"}, "does not match"),
    ("tampered-sender", {"msisdn": "447700900002"}, "does not match"),
    ("added-param", {"concat": "true"}, "does not match"),
    ("missing-sig", {"sig": None}, "missing signature"),
    ("empty-sig", {"sig": ""}, "missing signature"),
    ("non-hex-sig", {"sig": "not-a-signature"}, "malformed signature"),
    ("missing-timestamp", {"timestamp": None}, "missing timestamp"),
    ("malformed-timestamp", {"timestamp": "yesterday"}, "malformed timestamp"),
    ("stale-past", {"now": NOW + MAX_TIMESTAMP_SKEW_SECONDS + 1}, "stale timestamp"),
    ("stale-future", {"now": NOW - MAX_TIMESTAMP_SKEW_SECONDS - 1}, "stale timestamp"),
    ("other-method", {"method": "other"}, "does not match"),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("changes", "reason"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED]
)
def test_sms_signature_refused(method: SignatureMethod, changes: dict, reason: str) -> None:
    changes = dict(changes)
    secret = changes.pop("secret", SECRET)
    now = changes.pop("now", NOW)
    check_method = changes.pop("method", method)
    if check_method == "other":
        check_method = "sha512" if method != "sha512" else "sha256"
    params = signed(method, **changes)
    with pytest.raises(InvalidInput) as caught:
        verify_sms_signature(params, secret=secret, method=check_method, now=now)
    assert caught.value.status == 401
    assert reason in caught.value.reason
    assert SECRET not in caught.value.reason


def test_sms_signature_refuses_an_unknown_method() -> None:
    with pytest.raises(InvalidInput) as caught:
        verify_sms_signature(signed("sha256"), secret=SECRET, method="crc32", now=NOW)  # type: ignore[arg-type]
    assert caught.value.status == 401


# --- Messages API signed JWT --------------------------------------------------------------

BODY = b'{"channel":"sms","message_uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab","text":"hi"}'


JTI = "c5ba8f24-1a14-4c10-bfdf-3fbe8ce511b5"


def token(
    *, secret: str = SECRET, algorithm: str = "HS256", body: bytes = BODY, **claims: Any
) -> str:
    payload: dict[str, Any] = {
        "iat": int(NOW),
        "jti": JTI,
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body).hexdigest(),
        "api_key": "a1b2c3d",
        "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
    }
    for key, value in claims.items():
        payload.pop(key, None)
        if value is not None:
            payload[key] = value
    key = None if algorithm == "none" else secret
    return jwt.encode(payload, key, algorithm=algorithm)


JWT_ACCEPTED = [
    ("good", f"Bearer {token()}", NOW),
    ("lower-case-scheme", f"bearer {token()}", NOW),
    (
        "upper-case-payload-hash",
        f"Bearer {token(payload_hash=hashlib.sha256(BODY).hexdigest().upper())}",
        NOW,
    ),
    ("iat-slightly-ahead", f"Bearer {token(iat=int(NOW) + JWT_IAT_FUTURE_SKEW_SECONDS)}", NOW),
    ("iat-at-max-age", f"Bearer {token()}", NOW + JWT_MAX_AGE_SECONDS),
    ("exp-in-future", f"Bearer {token(exp=int(NOW) + 60)}", NOW),
]


@pytest.mark.parametrize(
    ("header", "now"), [c[1:] for c in JWT_ACCEPTED], ids=[c[0] for c in JWT_ACCEPTED]
)
def test_messages_jwt_accepted(header: str, now: float) -> None:
    # Accepted: the answer is the id a replay of this token is known by.
    assert verify_messages_jwt(header, BODY, secret=SECRET, now=now) == JTI


def test_a_jwt_without_jti_is_known_by_the_token_itself() -> None:
    bare = token(jti=None)
    assert verify_messages_jwt(f"Bearer {bare}", BODY, secret=SECRET, now=NOW) == bare


JWT_REFUSED = [
    ("wrong-secret", f"Bearer {token(secret='x' * 40)}", BODY, NOW, "signature does not match"),
    ("tampered-body", f"Bearer {token()}", BODY.replace(b"hi", b"ho"), NOW, "payload_hash"),
    ("missing-header", None, BODY, NOW, "missing Authorization"),
    ("blank-header", "   ", BODY, NOW, "missing Authorization"),
    ("basic-scheme", "Basic YWJjOmRlZg==", BODY, NOW, "not a Bearer"),
    ("bare-token", token(), BODY, NOW, "not a Bearer"),
    ("empty-bearer", "Bearer ", BODY, NOW, "empty Bearer"),
    ("garbage-token", "Bearer not.a.jwt", BODY, NOW, "malformed JWT"),
    ("alg-none", f"Bearer {token(algorithm='none')}", BODY, NOW, "algorithm must be HS256"),
    ("alg-hs512", f"Bearer {token(algorithm='HS512')}", BODY, NOW, "algorithm must be HS256"),
    (
        "iat-future",
        f"Bearer {token(iat=int(NOW) + JWT_IAT_FUTURE_SKEW_SECONDS + 1)}",
        BODY,
        NOW,
        "future",
    ),
    ("iat-too-old", f"Bearer {token()}", BODY, NOW + JWT_MAX_AGE_SECONDS + 1, "too old"),
    ("exp-passed", f"Bearer {token(exp=int(NOW) - 1)}", BODY, NOW, "expired"),
    ("no-iat", f"Bearer {token(iat=None)}", BODY, NOW, "'iat'"),
    ("no-payload-hash", f"Bearer {token(payload_hash=None)}", BODY, NOW, "'payload_hash'"),
    ("payload-hash-not-hex", f"Bearer {token(payload_hash='zz')}", BODY, NOW, "not a hex digest"),
]


@pytest.mark.parametrize(
    ("header", "body", "now", "reason"),
    [c[1:] for c in JWT_REFUSED],
    ids=[c[0] for c in JWT_REFUSED],
)
def test_messages_jwt_refused(header: str | None, body: bytes, now: float, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        verify_messages_jwt(header, body, secret=SECRET, now=now)
    assert caught.value.status == 401
    assert reason in caught.value.reason
    assert SECRET not in caught.value.reason


def test_messages_jwt_short_secret_verifies_without_warnings() -> None:
    short = "shortsecret"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = f"Bearer {token(secret=short)}"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        verify_messages_jwt(header, BODY, secret=short, now=NOW)
    assert seen == []
