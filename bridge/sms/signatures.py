"""Verify that a webhook really comes from Vonage.

Two schemes, one per API:

* SMS API signed webhooks: a `sig` parameter computed over the other parameters
  (https://developer.vonage.com/en/getting-started/concepts/signing-messages).
* Messages API signed webhooks: an HS256 JWT in the `Authorization` header whose
  `payload_hash` claim is the SHA-256 of the raw body
  (https://developer.vonage.com/en/messages/concepts/signed-webhooks).

Every failure raises `InvalidInput(reason, status=401)`; reasons never contain the secret
or the expected signature.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import warnings
from collections.abc import Mapping
from typing import Any, Literal

import jwt

from bridge.errors import InvalidInput

SignatureMethod = Literal["md5hash", "md5", "sha1", "sha256", "sha512"]

# Which digest each dashboard "signature method" uses. "md5hash" (the dashboard default,
# "MD5 hash") is a plain MD5 over the parameter string with the secret appended; the others
# are HMACs keyed with the secret. The vonage SDK v4 (`vonage_http_client.Auth.sign_params`)
# implements the HMAC ones only, and calls HMAC-MD5 "md5".
# https://developer.vonage.com/en/getting-started/concepts/signing-messages#manually-generate-a-signature
HMAC_DIGESTS: dict[str, str] = {
    "md5": "md5",
    "sha1": "sha1",
    "sha256": "sha256",
    "sha512": "sha512",
}
SIGNATURE_METHODS: frozenset[str] = frozenset({"md5hash", *HMAC_DIGESTS})

# The parameter that carries the signature; it is left out of what is signed.
SIGNATURE_PARAM = "sig"
# Unix seconds, sent with every signed webhook and covered by the signature.
TIMESTAMP_PARAM = "timestamp"
# How far a signed webhook's timestamp may be from our clock, either way. Vonage does not
# publish a window; five minutes is the common replay window and tolerates clock drift.
MAX_TIMESTAMP_SKEW_SECONDS = 300
_HEX = re.compile(r"[0-9a-fA-F]+")

# Messages API: the JWT is always HS256 ("SHA-256 is always used", whatever the dashboard
# signature method says) and signed with the account's signature secret.
JWT_ALGORITHM = "HS256"
JWT_REQUIRED_CLAIMS = ("iat", "payload_hash")
# A token issued this far in the future is still accepted (clock drift between hosts).
JWT_IAT_FUTURE_SKEW_SECONDS = 60
# A token older than this is refused as a possible replay. Vonage signs each delivery
# attempt afresh, so a genuine retry carries a new `iat`.
JWT_MAX_AGE_SECONDS = 300
# How long an accepted token must be remembered: as long as some clock could take it as new.
JWT_VALIDITY_SECONDS = JWT_MAX_AGE_SECONDS + JWT_IAT_FUTURE_SKEW_SECONDS
# Vonage's token ids are UUIDs; anything far longer is not one of theirs.
JTI_MAX = 200


def _unauthorized(reason: str) -> InvalidInput:
    return InvalidInput(reason, status=401)


def signing_string(params: Mapping[str, object]) -> str:
    """The string Vonage signs: `&key=value` for every parameter but `sig`, sorted by key."""
    parts = []
    for key in sorted(params):
        if key == SIGNATURE_PARAM:
            continue
        value = params[key]
        if isinstance(value, str):
            # Vonage replaces "all instances of `&` and `=` with an underscore" in values
            # (str.replace: some 20 times as fast as str.translate).
            value = value.replace("&", "_").replace("=", "_")
        parts.append(f"&{key}={value}")
    return "".join(parts)


def sign_sms_params(params: Mapping[str, object], *, secret: str, method: SignatureMethod) -> str:
    """Compute the lower-case hex signature of `params` (used by tests and fakes)."""
    if method not in SIGNATURE_METHODS:
        raise ValueError(f"unknown signature method {method!r}")
    message = signing_string(params)
    if method == "md5hash":
        return hashlib.md5((message + secret).encode("utf-8")).hexdigest()
    digest = HMAC_DIGESTS[method]
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), digest).hexdigest()


def verify_sms_signature(
    params: Mapping[str, object], *, secret: str, method: SignatureMethod, now: float
) -> None:
    """Check an SMS API webhook's `sig` and `timestamp`; raise InvalidInput(401) if not good."""
    sig = params.get(SIGNATURE_PARAM)
    if not isinstance(sig, str) or not sig:
        raise _unauthorized("missing signature (sig)")
    if not _HEX.fullmatch(sig):
        raise _unauthorized("malformed signature (sig is not hexadecimal)")
    raw_ts = params.get(TIMESTAMP_PARAM)
    if raw_ts is None or raw_ts == "":
        raise _unauthorized("missing timestamp in signed webhook")
    try:
        timestamp = int(str(raw_ts).strip())
    except ValueError:
        raise _unauthorized("malformed timestamp in signed webhook") from None
    if abs(now - timestamp) > MAX_TIMESTAMP_SKEW_SECONDS:
        raise _unauthorized(
            f"stale timestamp in signed webhook (more than {MAX_TIMESTAMP_SKEW_SECONDS}s "
            "from our clock)"
        )
    if method not in SIGNATURE_METHODS:
        raise _unauthorized(f"unsupported signature method {method!r}")
    expected = sign_sms_params(params, secret=secret, method=method)
    # Vonage may send upper-case hex; compare case-insensitively, in constant time.
    if not hmac.compare_digest(sig.lower().encode("ascii"), expected.encode("ascii")):
        raise _unauthorized("signature does not match")


def _bearer_token(authorization_header: str | None) -> str:
    if authorization_header is None or not authorization_header.strip():
        raise _unauthorized("missing Authorization header")
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise _unauthorized("Authorization header is not a Bearer token")
    token = token.strip()
    if not token:
        raise _unauthorized("empty Bearer token")
    return token


def _decode(token: str, secret: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _unauthorized("malformed JWT") from None
    if header.get("alg") != JWT_ALGORITHM:
        raise _unauthorized(f"JWT algorithm must be {JWT_ALGORITHM}")
    with warnings.catch_warnings():
        # The secret's length is Vonage's choice, not ours; PyJWT's short-key warning would
        # only add noise to every request.
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        try:
            return jwt.decode(
                token,
                secret,
                algorithms=[JWT_ALGORITHM],
                # Times are checked below against the caller's clock, not PyJWT's.
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": list(JWT_REQUIRED_CLAIMS),
                },
            )
        except jwt.InvalidSignatureError:
            raise _unauthorized("JWT signature does not match") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _unauthorized(f"JWT lacks the {exc.claim!r} claim") from None
        except jwt.PyJWTError:
            raise _unauthorized("malformed JWT") from None


def _claim_time(claims: Mapping[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _unauthorized(f"JWT {name!r} claim is not a number")
    return float(value)


def verify_messages_jwt(
    authorization_header: str | None,
    body: bytes,
    *,
    secret: str,
    now: float,
    max_age: float = JWT_MAX_AGE_SECONDS,
) -> str:
    """Check a Messages API webhook's signed JWT against the raw body; raise InvalidInput(401).

    Returns the token's id, by which a replay is known: its `jti` claim (Vonage sends one),
    or the token itself.
    """
    token = _bearer_token(authorization_header)
    claims = _decode(token, secret)

    iat = _claim_time(claims, "iat")
    if iat > now + JWT_IAT_FUTURE_SKEW_SECONDS:
        raise _unauthorized("JWT issued in the future (iat)")
    if now - iat > max_age:
        raise _unauthorized(f"JWT too old (issued more than {int(max_age)}s ago)")
    if "exp" in claims and _claim_time(claims, "exp") < now:
        raise _unauthorized("JWT expired (exp)")

    payload_hash = claims["payload_hash"]
    if not isinstance(payload_hash, str) or not _HEX.fullmatch(payload_hash):
        raise _unauthorized("JWT payload_hash claim is not a hex digest")
    actual = hashlib.sha256(body).hexdigest()
    if not hmac.compare_digest(payload_hash.lower().encode("ascii"), actual.encode("ascii")):
        raise _unauthorized("body does not match the JWT payload_hash")
    jti = claims.get("jti")
    if jti is None:
        return token
    if not isinstance(jti, str) or not 0 < len(jti) <= JTI_MAX:
        raise _unauthorized("JWT jti claim is not a short text")
    return jti
