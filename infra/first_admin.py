"""The first administrator of a freshly deployed stage: added to the staff directory and to the
Cognito user pool in one step, with the operator's AWS credentials (every later person is added by
an administrator through the API: `cli staff add|import`).

    .venv/bin/python infra/first_admin.py prod --name "Gao Min" --email gao.min@example.com --unit branch-hz

Cognito mails the person a temporary password; their first sign-in at the stack's ConsoleUrl sets
their own. The unit must already be in the organisation (`cli org load` needs an administrator,
so load the top unit first with `--top-unit-file`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage")
    parser.add_argument("--name", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--unit", required=True, help="the administrator's unit, e.g. the branch")
    parser.add_argument("--top-unit-file", type=Path,
                        help="a JSON unit (the top of the organisation) to store first, if it is not there yet")
    args = parser.parse_args(argv)

    import boto3

    outputs = {o["OutputKey"]: o["OutputValue"] for o in boto3.client("cloudformation").describe_stacks(
        StackName=f"complaint-desk-{args.stage}")["Stacks"][0].get("Outputs", [])}
    top = json.loads(args.top_unit_file.read_text(encoding="utf-8")) if args.top_unit_file else None
    member = enrol_first_admin(outputs, boto3.client("dynamodb"), boto3.client("cognito-idp"), args.name,
                               args.email, args.unit, top)
    print(f"{member.staff_id}  {member.name} <{member.email}> is an administrator of {member.unit_id}; "
          "Cognito has mailed a temporary password")
    return 0


def enrol_first_admin(outputs: dict[str, str], ddb: object, cognito: object, name: str, email: str, unit_id: str,
                      top_unit: dict[str, object] | None = None) -> object:
    """The stack's outputs name the table and the user pool; the person is stored through the staff
    service, so the pool and the directory agree from the first person on."""
    from chalicelib.adapters.staff_directory import CognitoIdentityProvider
    from chalicelib.bootstrap import build_organisation_service, build_staff_service
    from chalicelib.config import Settings
    from chalicelib.domain.models import Unit
    from chalicelib.domain.staff import StaffDetails

    settings = Settings(table_name=outputs["TableName"], escalation_topic_arn=outputs["EscalationTopicArn"],
                        user_pool_id=outputs["UserPoolId"])
    if top_unit is not None:
        unit = Unit.model_validate(top_unit)
        build_organisation_service(settings, ddb).put_unit(unit.unit_id, unit)
    staff = build_staff_service(settings, ddb, identity=CognitoIdentityProvider(cognito, settings.user_pool_id))
    return staff.add(StaffDetails(name=name, unit_id=unit_id, roles=frozenset({"admin"}), email=email))


if __name__ == "__main__":
    raise SystemExit(main())
