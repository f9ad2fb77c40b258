"""Bearer tokens of staff: Cognito ID tokens in AWS, the local issuer's on the local stack;
both RS256, verified with PyJWT against the issuer's published keys (JWKS)."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from chalicelib.domain.auth import Principal, Role, Unauthenticated

GROUPS_CLAIM = "cognito:groups"
UNIT_CLAIM = "custom:unit_id"


class TokenVerifier:
    def __init__(self, issuer: str, audience: str, jwks_url: str, leeway_seconds: int = 30,
                 max_lifetime_seconds: int = 3600) -> None:
        self._issuer = issuer
        self._audience = audience
        self._jwks_url = jwks_url
        self._leeway = leeway_seconds
        self._max_lifetime = max_lifetime_seconds

    @cached_property
    def _keys(self) -> Any:
        """Cognito's keys are fetched once per container and cached (a new `kid` refetches); the
        local issuer's come from a file, which PyJWKClient does not read."""
        import jwt

        if self._jwks_url.startswith("file://"):
            return _FileKeys(self._jwks_url)
        return jwt.PyJWKClient(self._jwks_url, cache_keys=True, lifespan=3600)

    def principal(self, authorization: str | None) -> Principal:
        """The user an `Authorization: Bearer <ID token>` header proves. Anything wrong (missing, not
        a JWT, bad signature, expired, other issuer or audience, not an ID token, no unit or role,
        meant to live longer than the pool issues tokens for) raises Unauthenticated, with the
        reason kept for the log, never for the caller."""
        import jwt

        if not self._issuer or not authorization or not authorization.startswith("Bearer "):
            raise Unauthenticated("no bearer token")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=self._audience,
                                issuer=self._issuer, leeway=self._leeway,
                                options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.PyJWTError as exc:
            raise Unauthenticated(type(exc).__name__) from exc
        if claims["exp"] - claims["iat"] > self._max_lifetime:  # PyJWT checked both are numbers
            raise Unauthenticated("token lifetime longer than the user pool issues")
        roles = frozenset(Role(group) for group in claims.get(GROUPS_CLAIM, []) if group in Role._value2member_map_)
        unit_id = claims.get(UNIT_CLAIM)
        if claims.get("token_use") != "id" or not roles or not isinstance(unit_id, str):
            raise Unauthenticated("not a staff ID token")
        name = claims.get("name") or claims.get("cognito:username") or claims["sub"]
        return Principal(subject=claims["sub"], name=str(name), unit_id=unit_id, roles=roles)


class _FileKeys:
    """The PyJWKClient call the verifier uses, over a JWKS file (read again when the file changes)."""

    def __init__(self, url: str) -> None:
        from urllib.parse import unquote, urlparse

        self._path = unquote(urlparse(url).path)
        self._read: tuple[float, Any] | None = None

    def get_signing_key_from_jwt(self, token: str) -> Any:
        import os

        import jwt

        changed = os.stat(self._path).st_mtime
        if self._read is None or self._read[0] != changed:
            with open(self._path, encoding="utf-8") as jwks:
                self._read = (changed, jwt.PyJWKSet.from_json(jwks.read()))
        keys = self._read[1]
        kid = jwt.get_unverified_header(token).get("kid")
        for key in keys.keys:
            if key.key_id == kid:
                return key
        raise jwt.PyJWKClientError(f"no key {kid!r} in the JWKS file")
