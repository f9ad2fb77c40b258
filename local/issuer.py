"""The local stack's token issuer (issue 5): what Cognito is in AWS. It signs ID tokens of the same
shape (issuer, audience, `cognito:groups`, `custom:unit_id`) with a key kept in `.local/`, and
publishes the public key as a JWKS file the API reads.

    ./dev token --role agent --unit store-xh-01 --name "Li Na"        # prints a token for 12 h
    ./dev token --role auditor --role agent --unit branch-hz --name "Qian Yu" --minutes 30

With a stack running, the token is signed for its issuer and audience (read from .local/stack.json).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KEY_DIR = ROOT / ".local"


@functools.lru_cache(maxsize=8)
def _key(key_dir: Path) -> Any:
    """The issuer's RSA key, made once and kept, so tokens outlive a restart of the stack."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = key_dir / "issuer-key.pem"
    if path.exists():
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_dir.mkdir(parents=True, exist_ok=True)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return key


def publish_keys(key_dir: Path = KEY_DIR) -> str:
    """Writes the public key as JWKS and returns its file URL (the API's AUTH_JWKS_URL)."""
    from jwt.algorithms import RSAAlgorithm

    jwk = json.loads(RSAAlgorithm.to_jwk(_key(key_dir).public_key()))
    jwks = key_dir / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "local-1", "alg": "RS256", "use": "sig"}]}))
    return jwks.resolve().as_uri()


@functools.lru_cache(maxsize=8)
def auth_environment(key_dir: Path = KEY_DIR) -> dict[str, str]:
    """AUTH_ISSUER and AUTH_AUDIENCE as the template gives them to the functions (resolved with the
    local stand-ins for the user pool), the JWKS file of this issuer, and no hosted sign-in page
    (the console then asks for a pasted token)."""
    from local.provision import stage_environment

    return {**stage_environment({}, only=("AUTH_ISSUER", "AUTH_AUDIENCE")), "AUTH_JWKS_URL": publish_keys(key_dir),
            "AUTH_SIGNIN_URL": os.environ.get("AUTH_SIGNIN_URL", "")}


def mint(name: str, roles: list[str], unit_id: str, minutes: float = 720, key_dir: Path = KEY_DIR,
         issuer: str | None = None, audience: str | None = None, **overrides: Any) -> str:
    """An ID token as Cognito would issue it; `overrides` replace claims (tests forge bad ones)."""
    import jwt

    env = dict(auth_environment(key_dir))
    now = int(time.time())
    claims = {"iss": issuer or env["AUTH_ISSUER"], "aud": audience or env["AUTH_AUDIENCE"],
              "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, name)), "token_use": "id", "name": name,
              "cognito:groups": roles, "custom:unit_id": unit_id, "iat": now, "exp": now + int(minutes * 60),
              **overrides}
    return jwt.encode(claims, _key(key_dir), algorithm="RS256", headers={"kid": "local-1"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", action="append", required=True,
                        choices=["agent", "unit-manager", "branch-supervisor", "auditor", "admin"])
    parser.add_argument("--unit", required=True, help="the user's unit, e.g. store-xh-01 or branch-hz")
    parser.add_argument("--name", required=True, help="the user's name, recorded as the actor of each change")
    parser.add_argument("--minutes", type=float, default=720)
    args = parser.parse_args(argv)
    print(mint(args.name, args.role, args.unit, args.minutes, **_running_stack_issuer()))
    return 0


def _running_stack_issuer() -> dict[str, Any]:
    """The running stack's issuer, audience and key (from .local/stack.json), so the token is one it
    accepts whichever checkout or stage started it; with no stack running, this issuer's defaults
    (the token is still good for a stack started later, as the key is kept)."""
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    from local import stack_file

    record = stack_file.read()
    env = record.environment if record else {}
    if not env.get("AUTH_JWKS_URL", "").startswith("file:"):
        return {}
    return {"key_dir": Path(url2pathname(urlparse(env["AUTH_JWKS_URL"]).path)).parent,
            "issuer": env.get("AUTH_ISSUER"), "audience": env.get("AUTH_AUDIENCE")}


if __name__ == "__main__":
    raise SystemExit(main())
