"""The local stack's token issuer: what Cognito is in AWS. It signs ID tokens of the same shape
(issuer, audience, `cognito:groups`, `custom:unit_id`) with a key kept in `.local/`, and publishes
the public key as a JWKS file the API reads. Like Cognito, it signs in only people of the staff
directory, with the unit and roles the directory gives them, and like the user pool it puts into a
token only the attributes the template's app client may read, for at most the client's ID token
validity.

    ./dev token --name "Li Na"              # an agent of Xihu Store No. 1; prints a token for 1 h
    ./dev token --name "Sun Li"             # that store's manager
    ./dev token --id 6f1c…  --minutes 30    # by staff id

With a stack running, the person is looked up in its directory and the token is signed for its
issuer and audience (both read from .local/stack.json).
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


# Claims Cognito puts into every ID token whatever the app client may read.
COGNITO_CLAIMS = frozenset({"iss", "aud", "sub", "token_use", "iat", "exp", "auth_time", "cognito:username",
                            "cognito:groups", "event_id", "origin_jti", "jti"})
_VALIDITY_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


@functools.lru_cache(maxsize=1)
def app_client() -> tuple[frozenset[str], int]:
    """The attributes the template's staff app client may read, and its ID token validity in seconds
    (Cognito's default unit for IdTokenValidity is hours)."""
    from local.provision import load_template

    resources = load_template()["Resources"]
    [client] = [r["Properties"] for r in resources.values() if r.get("Type") == "AWS::Cognito::UserPoolClient"]
    unit = client.get("TokenValidityUnits", {}).get("IdToken", "hours")
    return frozenset(client["ReadAttributes"]), int(client["IdTokenValidity"]) * _VALIDITY_UNITS[unit]


def mint(name: str, roles: list[str], unit_id: str, minutes: float | None = None, key_dir: Path = KEY_DIR,
         issuer: str | None = None, audience: str | None = None, email: str | None = None,
         **overrides: Any) -> str:
    """An ID token as Cognito would issue it: for the client's validity (or `minutes`, not longer),
    with only the attributes the client may read; `overrides` replace claims (tests forge bad ones)."""
    import jwt

    readable, validity = app_client()
    seconds = validity if minutes is None else int(minutes * 60)
    if seconds > validity:
        raise ValueError(f"the user pool issues ID tokens for at most {validity // 60} minutes")
    env = dict(auth_environment(key_dir))
    now = int(time.time())
    attributes = {"name": name, "custom:unit_id": unit_id, "email": email}
    claims = {"iss": issuer or env["AUTH_ISSUER"], "aud": audience or env["AUTH_AUDIENCE"],
              "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, name)), "token_use": "id",
              "cognito:groups": roles, "iat": now, "auth_time": now, "exp": now + seconds,
              "cognito:username": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
              **{k: v for k, v in attributes.items() if k in readable and v is not None}, **overrides}
    return jwt.encode(claims, _key(key_dir), algorithm="RS256", headers={"kid": "local-1"})


def directory_member(name: str | None, staff_id: str | None, aws_endpoint: str, table: str) -> Any:
    """The active person of the running stack's staff directory with this name or id."""
    import boto3

    from chalicelib.adapters.staff_directory import DynamoStaffDirectory

    client = boto3.client("dynamodb", endpoint_url=aws_endpoint, region_name="us-east-1",
                          aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                          aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
    directory = DynamoStaffDirectory(client, table)
    found = [m for m in directory.all() if m.active and (m.staff_id == staff_id or (name and m.name == name))]
    if not found:
        raise SystemExit(f"no active member of staff {staff_id or name!r} in the directory "
                         "(./dev cli staff list shows who is there)")
    if len(found) > 1:
        raise SystemExit(f"{len(found)} people are called {name!r}; use --id with one of: "
                         + ", ".join(f"{m.staff_id} ({m.unit_id})" for m in found))
    return found[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--name", help="the person's name in the staff directory, e.g. \"Sun Li\"")
    who.add_argument("--id", help="the person's staff id")
    parser.add_argument("--minutes", type=float, help="at most the app client's ID token validity (the default)")
    parser.add_argument("--aws-endpoint", help="the local stack's emulated AWS (default: the running stack's)")
    parser.add_argument("--table", default="complaint-desk-local")
    args = parser.parse_args(argv)
    try:
        member = directory_member(args.name, args.id, args.aws_endpoint or _running_stack_aws(), args.table)
    except SystemExit:
        raise
    except Exception as exc:  # the stack is not running, or not on that port
        raise SystemExit(f"cannot read the staff directory of the local stack ({type(exc).__name__}); "
                         "is ./dev run running?") from exc
    try:
        print(mint(member.name, sorted(member.roles), member.unit_id, args.minutes, sub=member.staff_id,
                   **_running_stack_issuer()))
    except ValueError as exc:
        parser.error(str(exc))
    return 0


def _running_stack_aws() -> str:
    """The running stack's emulated AWS (from .local/stack.json), else the default port."""
    from local import stack_file

    record = stack_file.read()
    return record.aws if record else os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")


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
