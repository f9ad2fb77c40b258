"""AWS's documented limits where moto is more lenient, enforced in moto itself so the local stack
(local/emulator.py) and the tests (tests/conftest.py) meet the same refusals AWS gives.

- SNS Publish/PublishBatch: a subject must be under 100 characters, with no line breaks or control
  characters (moto accepts 100, and drops a batch entry it refuses without reporting it).
- SNS Publish to a phone number: E.164 with its plus and country code (`+8613800001234`); moto
  also takes a bare national number such as `13800001234`.
- S3 Object Lock, COMPLIANCE mode: a version's retention can be extended, never shortened,
  removed or changed to GOVERNANCE, by anyone (moto lets PutObjectRetention overwrite it).
- S3 Object Lock: versioning on a lock-enabled bucket cannot be suspended (moto allows it).
- S3 presigned URLs: refused once X-Amz-Date + X-Amz-Expires has passed, or when the signature does
  not match the request (moto serves them regardless).

`iam_as_aws()` (for the least-privilege tests) completes moto's IAM enforcement where it differs
from IAM: moto checks DynamoDB and SNS actions against resource "*" (so a policy naming a table or
topic never matches; SES SendEmail likewise), TransactWriteItems as one action, PublishBatch as
sns:PublishBatch, a legal hold or retention request as PutObject/GetObject, and cannot authorize a
presigned GET. IAM checks each call against its table, index or topic (SendEmail: the sender's
identity and the configuration set), each item of a transaction as its own action
(PutItem, UpdateItem, ...), PublishBatch as sns:Publish, s3:PutObjectLegalHold and the like as
themselves, and a presigned GET as its signer's s3:GetObject(Version).
"""

from __future__ import annotations

import hmac
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SNS_SUBJECT_LIMIT = 100  # characters; a subject must be shorter
# SNS Publish's PhoneNumber "Use E.164 format": a plus, the country code, at most 15 digits in all.
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
Restore = Callable[[], None]


def _control_characters(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _sns_subjects() -> Restore:
    from moto.sns.exceptions import InvalidParameterValue
    from moto.sns.models import SNSBackend

    original = SNSBackend.publish

    def publish(self: Any, message: str, arn: str | None, phone_number: str | None = None,
                subject: str | None = None, *args: Any, **kwargs: Any) -> str:
        if subject is not None and (len(subject) >= SNS_SUBJECT_LIMIT or _control_characters(subject)):
            raise InvalidParameterValue("Invalid parameter: Subject must be less than 100 characters long and "
                                        "contain no line breaks or control characters")
        if phone_number is not None and not E164.fullmatch(phone_number):
            raise InvalidParameterValue("Invalid parameter: PhoneNumber Reason: not in E.164 format")
        return original(self, message, arn, phone_number, subject, *args, **kwargs)

    SNSBackend.publish = publish  # type: ignore[method-assign]
    return lambda: setattr(SNSBackend, "publish", original)


def _object_lock() -> Restore:
    from moto.s3.exceptions import AccessDeniedByLock, InvalidBucketState
    from moto.s3.models import S3Backend

    original_retention = S3Backend.put_object_retention
    original_versioning = S3Backend.put_bucket_versioning

    def put_object_retention(self: Any, bucket_name: str, key_name: str, version_id: str | None,
                             retention: tuple[str | None, str | None]) -> None:
        key = self.get_object(bucket_name, key_name, version_id=version_id)
        until = _parse_time(getattr(key, "lock_until", None))
        if getattr(key, "lock_mode", None) == "COMPLIANCE" and until and until > datetime.now(UTC):
            mode, new_until = retention[0], _parse_time(retention[1])
            if mode != "COMPLIANCE" or new_until is None or new_until < until:
                raise AccessDeniedByLock()
        original_retention(self, bucket_name, key_name, version_id, retention)

    def put_bucket_versioning(self: Any, bucket_name: str, status: str) -> None:
        if self.get_bucket(bucket_name).object_lock_enabled and status != "Enabled":
            raise InvalidBucketState("An Object Lock configuration is present on this bucket, so the versioning "
                                     "state cannot be changed.")
        original_versioning(self, bucket_name, status)

    S3Backend.put_object_retention = put_object_retention  # type: ignore[method-assign]
    S3Backend.put_bucket_versioning = put_bucket_versioning  # type: ignore[method-assign]

    def restore() -> None:
        S3Backend.put_object_retention = original_retention  # type: ignore[method-assign]
        S3Backend.put_bucket_versioning = original_versioning  # type: ignore[method-assign]
    return restore


def _secret_for(access_key: str) -> str | None:
    """The secret of an access key: one moto's IAM issued, else this process's own credentials."""
    from moto.iam.models import iam_backends

    for account in list(iam_backends.values()):
        for backend in list(account.values()):
            for user in list(backend.users.values()):
                for key in user.access_keys:
                    if key.access_key_id == access_key:
                        return str(key.secret_access_key)
    if access_key == os.environ.get("AWS_ACCESS_KEY_ID"):
        return os.environ.get("AWS_SECRET_ACCESS_KEY")
    return None


def presigned_refusal(method: str, url: str, host: str, now: datetime | None = None) -> tuple[str, str] | None:
    """(code, message) S3 would answer a presigned (SigV4 query) request with, or None to serve it."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    if "Signature" in params and "Expires" in params:  # SigV2: only the expiry is checked
        expired = (now or datetime.now(UTC)).timestamp() > int(params["Expires"])
        return ("AccessDenied", "Request has expired") if expired else None
    if "X-Amz-Signature" not in params:
        return None
    try:
        signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        expires = int(params["X-Amz-Expires"])
        access_key, _day, region, service, _ = params["X-Amz-Credential"].split("/")
    except (KeyError, ValueError):
        return "AuthorizationQueryParametersError", "X-Amz-Date, X-Amz-Expires and X-Amz-Credential are required"
    if (now or datetime.now(UTC)) > signed_at + timedelta(seconds=expires):
        return "AccessDenied", "Request has expired"
    secret = _secret_for(access_key)
    if secret is None:
        return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
    # the signer adds the X-Amz-* parameters itself, from the values the URL claims
    operation = [(k, v) for k, v in query if not k.startswith("X-Amz-")]
    unsigned = urlunsplit(parts._replace(query=urlencode(operation)))
    request = AWSRequest(method=method, url=unsigned, headers={"host": host})
    request.context["timestamp"] = params["X-Amz-Date"]
    signer = S3SigV4QueryAuth(Credentials(access_key, secret, params.get("X-Amz-Security-Token")), service, region,
                              expires=expires)
    signer._modify_request_before_signing(request)
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(signature, params["X-Amz-Signature"]):
        return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
    return None


def _presigned_urls() -> Restore:
    from moto.s3.exceptions import S3ClientError
    from moto.s3.responses import S3Response

    original = S3Response._key_response_get

    def key_response_get(self: Any, query: dict[str, Any], key_name: str) -> Any:
        if "X-Amz-Signature" in query or "Signature" in query:
            host = self.headers.get("host") or self.headers.get("Host") or urlsplit(self.uri).netloc
            refusal = presigned_refusal(self.method, self.uri, host)
            if refusal is not None:
                error = S3ClientError(*refusal)
                error.code = refusal[0]
                raise error
        return original(self, query, key_name)

    S3Response._key_response_get = key_response_get  # type: ignore[method-assign]
    return lambda: setattr(S3Response, "_key_response_get", original)


_ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                 "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def _dynamodb_authorizations(handler: Any) -> list[tuple[str, str]]:
    """(action, resource ARN) pairs IAM checks for one DynamoDB request."""
    body = handler.body if isinstance(handler.body, dict) else json.loads(handler.body or "{}")
    action = handler._get_action()

    def arn(table: str, index: str | None = None) -> str:
        name = f"arn:aws:dynamodb:{handler.region}:{handler.current_account}:table/{table}"
        return f"{name}/index/{index}" if index else name

    if action in ("TransactWriteItems", "TransactGetItems"):
        return [(_ITEM_ACTIONS[op], arn(spec["TableName"]))
                for entry in body.get("TransactItems", []) for op, spec in entry.items()]
    if action in ("BatchGetItem", "BatchWriteItem"):
        return [(action, arn(table)) for table in body.get("RequestItems", {})]
    if "TableName" in body:
        return [(action, arn(body["TableName"], body.get("IndexName")))]
    return [(action, "*")]


@contextmanager
def iam_as_aws() -> Iterator[None]:
    """moto's IAM checks with IAM's resources for DynamoDB, SNS, SES's SendEmail and Secrets Manager
    (see the module docstring)."""
    from moto import settings as moto_settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.dynamodb.responses import DynamoHandler
    from moto.iam.access_control import IAMPolicy, IAMUserAccessKey, PermissionResult
    from moto.s3 import responses as s3_responses
    from moto.s3.exceptions import AccessDeniedByLock
    from moto.s3.responses import S3Response
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.sesv2.responses import SESV2Response
    from moto.sns.responses import SNSResponse

    get_action = DynamoHandler._get_action

    def dynamodb_action(self: Any) -> str:
        return getattr(self, "_iam_action", None) or get_action(self)

    def authorize_dynamodb(self: Any, resource: str = "*") -> None:
        for action, arn in _dynamodb_authorizations(self):
            self._iam_action = action
            try:
                ActionAuthenticatorMixin._authenticate_and_authorize_normal_action(self, arn)
            finally:
                del self._iam_action

    def sns_resource(self: Any) -> str:
        return str(self._get_param("TopicArn") or self._get_param("SubscriptionArn") or "*")

    sns_get_action = SNSResponse._get_action

    def sns_action(self: Any) -> str:
        return getattr(self, "_iam_action", None) or sns_get_action(self)

    def authorize_sns(self: Any, resource: str = "*") -> None:
        """PublishBatch is authorized as sns:Publish (IAM has no sns:PublishBatch action)."""
        if sns_get_action(self) == "PublishBatch":
            self._iam_action = "Publish"
        try:
            ActionAuthenticatorMixin._authenticate_and_authorize_normal_action(self, resource)
        finally:
            self.__dict__.pop("_iam_action", None)

    def authorize_sesv2(self: Any, resource: str = "*") -> None:
        """SendEmail is authorized on the sender's identity and the configuration set, as in SES."""
        if self._get_action() != "SendEmail":
            return ActionAuthenticatorMixin._authenticate_and_authorize_normal_action(self, resource)
        body = json.loads(self.body or "{}")
        prefix = f"arn:aws:ses:{self.region}:{self.current_account}"
        arns = [f"{prefix}:identity/{body.get('FromEmailAddress', '')}"]
        if body.get("ConfigurationSetName"):
            arns.append(f"{prefix}:configuration-set/{body['ConfigurationSetName']}")
        for arn in arns:
            ActionAuthenticatorMixin._authenticate_and_authorize_normal_action(self, arn)
        return None

    def authorize_secret(self: Any, resource: str = "*") -> None:
        """A secret is authorized on its full ARN, as in Secrets Manager, however the call names it."""
        secret_id = self._get_param("SecretId")
        if secret_id:
            from moto.secretsmanager.models import secretsmanager_backends

            try:
                resource = secretsmanager_backends[self.current_account][self.region].describe_secret(secret_id).arn
            except Exception:  # unknown: authorized on the name given, then refused as not found
                resource = str(secret_id)
        ActionAuthenticatorMixin._authenticate_and_authorize_normal_action(self, resource)

    authorize_s3 = S3Response._authenticate_and_authorize_s3_action

    def authorize_s3_presigned(self: Any, bucket_name: str | None = None, key_name: str | None = None) -> None:
        """moto reads the signer only from an Authorization header; a presigned GET carries it in
        the query (its signature is checked by the presigned-URL limit above)."""
        query = dict(parse_qsl(urlsplit(self.uri).query))
        if "X-Amz-Credential" not in query or \
                ActionAuthenticatorMixin.request_count < moto_settings.INITIAL_NO_AUTH_ACTION_COUNT:
            return authorize_s3(self, bucket_name, key_name)
        signer = IAMUserAccessKey(self.current_account, "aws", query["X-Amz-Credential"].split("/")[0], {})
        action = "s3:GetObjectVersion" if "versionId" in query else "s3:GetObject"
        results = [IAMPolicy(p).is_action_permitted(action, f"arn:aws:s3:::{bucket_name}/{key_name}")
                   for p in signer.collect_policies()]
        if PermissionResult.DENIED in results or PermissionResult.PERMITTED not in results:
            raise AccessDeniedByLock()  # S3's plain AccessDenied
        return None

    DynamoHandler._get_action = dynamodb_action  # type: ignore[method-assign]
    DynamoHandler._authenticate_and_authorize_normal_action = authorize_dynamodb  # type: ignore[method-assign]
    SNSResponse._determine_resource = sns_resource  # type: ignore[attr-defined]
    SNSResponse._get_action = sns_action  # type: ignore[method-assign]
    SNSResponse._authenticate_and_authorize_normal_action = authorize_sns  # type: ignore[method-assign]
    SESV2Response._authenticate_and_authorize_normal_action = authorize_sesv2  # type: ignore[method-assign]
    SecretsManagerResponse._authenticate_and_authorize_normal_action = authorize_secret  # type: ignore[method-assign]
    S3Response._authenticate_and_authorize_s3_action = authorize_s3_presigned  # type: ignore[method-assign]
    # moto names a legal hold or retention request PutObject/GetObject; IAM has actions of their own
    key_actions = s3_responses.ACTION_MAP["KEY"]
    saved = {method: dict(key_actions[method]) for method in ("GET", "PUT")}
    key_actions["GET"].update({"legal-hold": "GetObjectLegalHold", "retention": "GetObjectRetention"})
    key_actions["PUT"].update({"legal-hold": "PutObjectLegalHold", "retention": "PutObjectRetention"})
    try:
        yield
    finally:
        S3Response._authenticate_and_authorize_s3_action = authorize_s3  # type: ignore[method-assign]
        key_actions.update(saved)
        DynamoHandler._get_action = get_action  # type: ignore[method-assign]
        del DynamoHandler._authenticate_and_authorize_normal_action
        del SNSResponse._determine_resource  # type: ignore[attr-defined]
        SNSResponse._get_action = sns_get_action  # type: ignore[method-assign]
        del SNSResponse._authenticate_and_authorize_normal_action
        del SESV2Response._authenticate_and_authorize_normal_action
        del SecretsManagerResponse._authenticate_and_authorize_normal_action


@contextmanager
def aws_limits() -> Iterator[None]:
    """AWS's limits on moto while the block runs (the tests' AWS); moto as it is afterwards."""
    restores = [_sns_subjects(), _object_lock(), _presigned_urls()]
    try:
        yield
    finally:
        for restore in reversed(restores):
            restore()


def install_aws_limits() -> None:
    """AWS's limits on moto for the rest of the process (the local stack's emulator)."""
    _sns_subjects()
    _object_lock()
    _presigned_urls()
