"""Creates the resources declared in infra/resources.yaml in an AWS endpoint (the emulator).

The template is the single source of truth: each property is applied through the matching API
call, and a property this interpreter does not know stops provisioning instead of being dropped.
Entries without a `Type` complete Chalice's own functions (chalice package merges them); the app's
environment is read from them here too. A few types exist only in AWS and are skipped, each for
the reason given in AWS_ONLY.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "resources.yaml"
ACCOUNT_ID = "123456789012"
APP_NAME = "complaint-desk"
REGION = "us-east-1"
# Types the local stack does not build, why, and what stands in for a `Ref` to one of them.
AWS_ONLY: dict[str, tuple[str, str | None]] = {
    "AWS::Cognito::UserPool": ("the local issuer (local/issuer.py) signs the tokens", f"{REGION}_localpool"),
    "AWS::Cognito::UserPoolClient": ("the local issuer signs tokens for this audience", "local-staff-console"),
    "AWS::Cognito::UserPoolGroup": ("roles are the local issuer's `cognito:groups` claim", None),
    "AWS::Cognito::UserPoolDomain": ("no hosted sign-in page: staff paste a token from ./dev token",
                                     "local-sign-in"),
    "AWS::Logs::LogGroup": ("the local stack's functions log to its console", None),
    "AWS::SNS::Subscription": ("an e-mail subscription waits for a person to confirm it (queues are subscribed)",
                               None),
    "AWS::SQS::QueuePolicy": ("the emulator delivers from SNS to a queue without one", None),
    "AWS::SES::ConfigurationSetEventDestination": ("the emulator sends no delivery events", None),
    "AWS::Logs::SubscriptionFilter": ("no SMS delivery logs locally", None),
    "AWS::Lambda::Permission": ("the local stack calls its functions itself", None),
    "AWS::ApiGateway::ApiKey": ("the local server has no API Gateway; the app checks INTAKE_API_KEYS", None),
    "AWS::ApiGateway::UsagePlan": ("the local server has no API Gateway; the app checks INTAKE_API_KEYS", None),
    "AWS::ApiGateway::UsagePlanKey": ("the local server has no API Gateway; the app checks INTAKE_API_KEYS", None),
}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _resolve(value: Any, params: dict[str, str]) -> Any:
    """`Fn::Sub` of parameters, `Ref` of a parameter or of a resource created before, and
    `Fn::GetAtt` of an attribute such a resource has (a queue's Arn)."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return params[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
        return params[".".join(value["Fn::GetAtt"])]
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([\w:]+)\}", lambda m: str(params[m.group(1)]), value["Fn::Sub"])
    if isinstance(value, dict):
        return {k: _resolve(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, params) for v in value]
    return value


def _check_known(kind: str, props: dict[str, Any], known: set[str]) -> None:
    unknown = set(props) - known
    if unknown:
        raise ValueError(f"{kind}: local provisioning does not know {sorted(unknown)}; "
                         "teach local/provision.py rather than letting local and AWS drift")


def _table(session: Any, props: dict[str, Any]) -> str:
    _check_known("AWS::DynamoDB::Table", props, {
        "TableName", "BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes",
        "TimeToLiveSpecification", "PointInTimeRecoverySpecification", "SSESpecification"})
    ddb = session.client("dynamodb")
    name = props["TableName"]
    if name not in ddb.list_tables()["TableNames"]:
        ddb.create_table(
            TableName=name, BillingMode=props["BillingMode"],
            AttributeDefinitions=props["AttributeDefinitions"], KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props.get("GlobalSecondaryIndexes", []),
            SSESpecification={"Enabled": props["SSESpecification"]["SSEEnabled"]},
        )
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        current = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") != "ENABLED":
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr:
        ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification=pitr)
    return name


def _topic(session: Any, props: dict[str, Any]) -> str:
    _check_known("AWS::SNS::Topic", props, {"TopicName"})
    return session.client("sns").create_topic(Name=props["TopicName"])["TopicArn"]


def _bucket(session: Any, props: dict[str, Any]) -> str:
    _check_known("AWS::S3::Bucket", props, {
        "BucketName", "ObjectLockEnabled", "VersioningConfiguration", "ObjectLockConfiguration",
        "PublicAccessBlockConfiguration", "BucketEncryption", "LifecycleConfiguration"})
    s3 = session.client("s3")
    name = props["BucketName"]
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if name not in existing:
        s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=bool(props.get("ObjectLockEnabled")))
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    lock = props.get("ObjectLockConfiguration")
    if lock and _current_lock(s3, name) != _as_api_lock(lock):
        # S3 refuses a lock change on a bucket that holds objects (and a locked file must never be
        # touched anyway): an existing bucket with the template's lock is left alone.
        s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=lock)
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if "BucketEncryption" in props:
        # CloudFormation's ServerSideEncryptionByDefault is the API's ApplyServerSideEncryptionByDefault.
        rules = [{"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                 for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "LifecycleConfiguration" in props:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={
            "Rules": [_lifecycle_rule(rule) for rule in props["LifecycleConfiguration"]["Rules"]]})
    return name


def _as_api_lock(lock: dict[str, Any]) -> dict[str, Any]:
    rule = lock.get("Rule", {}).get("DefaultRetention", {})
    return {"ObjectLockEnabled": lock.get("ObjectLockEnabled"),
            "DefaultRetention": {k: rule[k] for k in ("Mode", "Days", "Years") if rule.get(k)}}  # moto adds Years: 0


def _current_lock(s3: Any, bucket: str) -> dict[str, Any] | None:
    try:
        current = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    except s3.exceptions.ClientError:
        return None  # a bucket without a lock configuration
    return _as_api_lock(current)


_LIFECYCLE_RULE_PROPERTIES = {"Id", "Status", "Prefix", "NoncurrentVersionExpiration",
                              "ExpiredObjectDeleteMarker", "AbortIncompleteMultipartUpload"}


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule in the S3 API's shape (ID, Filter, Expiration)."""
    _check_known("AWS::S3::Bucket LifecycleConfiguration rule", rule, _LIFECYCLE_RULE_PROPERTIES)
    api: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    for name in ("NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload"):
        if name in rule:
            api[name] = rule[name]
    if "ExpiredObjectDeleteMarker" in rule:
        api["Expiration"] = {"ExpiredObjectDeleteMarker": rule["ExpiredObjectDeleteMarker"]}
    return api


_ALARM_PROPERTIES = {
    "AlarmName", "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic", "Period",
    "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
    "AlarmActions"}


def _alarm(session: Any, props: dict[str, Any]) -> str:
    _check_known("AWS::CloudWatch::Alarm", props, _ALARM_PROPERTIES)
    session.client("cloudwatch").put_metric_alarm(**props)  # the API takes the same names
    return props["AlarmName"]


def _queue(session: Any, props: dict[str, Any]) -> str:
    _check_known("AWS::SQS::Queue", props, {"QueueName", "VisibilityTimeout", "MessageRetentionPeriod",
                                            "RedrivePolicy"})
    attributes = {k: str(props[k]) for k in ("VisibilityTimeout", "MessageRetentionPeriod") if k in props}
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    return str(session.client("sqs").create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"])


def _queue_attributes(session: Any, url: str) -> dict[str, str]:
    arn = session.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return {"Arn": arn["QueueArn"], "QueueName": url.rsplit("/", 1)[-1]}


def _queue_subscription(session: Any, props: dict[str, Any]) -> str:
    """A queue's subscription to a topic (the notifier's); subscribing again changes nothing."""
    _check_known("AWS::SNS::Subscription", props, {"TopicArn", "Protocol", "Endpoint", "RawMessageDelivery"})
    sns = session.client("sns")
    attributes = {"RawMessageDelivery": str(props.get("RawMessageDelivery", False)).lower()}
    return str(sns.subscribe(TopicArn=props["TopicArn"], Protocol="sqs", Endpoint=props["Endpoint"],
                             Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"])


def _mail_configuration_set(session: Any, props: dict[str, Any]) -> str:
    _check_known("AWS::SES::ConfigurationSet", props, {"Name"})
    from botocore.exceptions import ClientError

    try:
        session.client("sesv2").create_configuration_set(ConfigurationSetName=props["Name"])
    except ClientError as exc:  # moto names it ConfigurationSetAlreadyExistsException, SES AlreadyExistsException
        if "AlreadyExists" not in exc.response["Error"]["Code"]:
            raise
    return str(props["Name"])


def _secret(session: Any, props: dict[str, Any]) -> str:
    """A generated secret, as Secrets Manager's GenerateSecretString makes it (letters and digits of
    the given length); an existing one is kept, as CloudFormation keeps it on an update."""
    _check_known("AWS::SecretsManager::Secret", props, {"Name", "Description", "GenerateSecretString"})
    generate = props["GenerateSecretString"]
    _check_known("GenerateSecretString", generate, {"PasswordLength", "ExcludePunctuation"})
    client = session.client("secretsmanager")
    try:
        return str(client.describe_secret(SecretId=props["Name"])["ARN"])
    except client.exceptions.ResourceNotFoundException:
        pass
    import secrets
    import string

    alphabet = string.ascii_letters + string.digits + ("" if generate.get("ExcludePunctuation") else string.punctuation)
    value = "".join(secrets.choice(alphabet) for _ in range(int(generate["PasswordLength"])))
    return str(client.create_secret(Name=props["Name"], Description=props.get("Description", ""),
                                    SecretString=value)["ARN"])


_CREATORS = {"AWS::DynamoDB::Table": _table, "AWS::SNS::Topic": _topic, "AWS::S3::Bucket": _bucket,
             "AWS::CloudWatch::Alarm": _alarm, "AWS::SQS::Queue": _queue,
             "AWS::SES::ConfigurationSet": _mail_configuration_set, "AWS::SecretsManager::Secret": _secret}
# Attributes (Fn::GetAtt) of what a creator made, from its Ref.
_ATTRIBUTES = {"AWS::SQS::Queue": _queue_attributes}


def chalice_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's completions of Chalice's resources (entries without a Type): its functions
    and its REST API."""
    return {name: resource for name, resource in template["Resources"].items() if "Type" not in resource}


def _function_name(logical_id: str, stage: str) -> str:
    """What `Ref` of a Chalice function gives in AWS: its name (here for alarm dimensions only)."""
    return f"{APP_NAME}-{stage}" if logical_id == "APIHandler" else f"{APP_NAME}-{stage}-{logical_id.lower()}"


def local_stand_ins(template: dict[str, Any] | None = None) -> dict[str, str]:
    """Logical id → the local value of each AWS-only resource that has one, and the pseudo parameters."""
    resources = (template or load_template())["Resources"]
    stand_ins = {name: AWS_ONLY[res["Type"]][1] for name, res in resources.items()
                 if res.get("Type") in AWS_ONLY and AWS_ONLY[res["Type"]][1] is not None}
    return {"AWS::AccountId": ACCOUNT_ID, "AWS::Region": REGION, **stand_ins}  # type: ignore[dict-item]


def provision(session: Any, stage: str, template: dict[str, Any] | None = None) -> dict[str, str]:
    """Create (or bring up to date) every resource; returns logical id → physical name/ARN."""
    template = template or load_template()
    params = {**local_stand_ins(template), "Stage": stage, "AWS::Region": session.region_name,
              **{name: spec.get("Default", "") for name, spec in template.get("Parameters", {}).items()
                 if name != "Stage"},
              **{name: _function_name(name, stage) for name in chalice_resources(template)}}
    created: dict[str, str] = {name: value for name, value in local_stand_ins(template).items()
                               if not name.startswith("AWS::")}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::SNS::Subscription" and resource["Properties"].get("Protocol") == "sqs":
            props = _resolve(resource["Properties"], {**params, **created})
            created[logical_id] = _queue_subscription(session, props)
            continue
        if "Type" not in resource or resource["Type"] in AWS_ONLY:
            continue
        if "Condition" in resource:
            raise ValueError(f"{logical_id}: conditions are only understood on AWS-only resources")
        creator = _CREATORS.get(resource["Type"])
        if creator is None:
            raise ValueError(f"{logical_id}: no local provisioning for {resource['Type']}")
        created[logical_id] = creator(session, _resolve(resource.get("Properties", {}), {**params, **created}))
        if resource["Type"] in _ATTRIBUTES:
            created |= {f"{logical_id}.{k}": v
                        for k, v in _ATTRIBUTES[resource["Type"]](session, created[logical_id]).items()}
    return created


def stage_environment(created: dict[str, str], template: dict[str, Any] | None = None,
                      only: tuple[str, ...] | None = None) -> dict[str, str]:
    """The environment variables the app reads, resolved from the API function's completion in the
    template, exactly as CloudFormation resolves them for the deployed functions."""
    template = template or load_template()
    variables = chalice_resources(template)["APIHandler"]["Properties"]["Environment"]["Variables"]
    known = {**local_stand_ins(template), **created}
    return {name: "" if name in NOT_LOCAL else str(_resolve(value, known))
            for name, value in variables.items() if only is None or name in only}


# Variables left empty locally, and why: the app then uses its local stand-in.
NOT_LOCAL = {"USER_POOL_ID": "no user pool: the staff directory gives new people ids of its own and the "
                             "local issuer signs their tokens"}
