"""How many texts a manager gets (in-process moto: DynamoDB, SNS with the notifier's queue, SES).

1. 500 breaches at one unit within one minute: SMS per manager per window (target 1), emails per
   manager (target 1), and every one of the 500 escalations recorded with its deliveries.
2. 10 public web filings left unattended for 3 days, the escalation run and the notifier every
   5 minutes (rungs are hours apart; moto's index queries make a per-minute run slow here): SMS
   and emails sent in all (before the digest, every escalation was its own SMS and
   email to every manager subscribed: 100 of each).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"})
os.environ.pop("AWS_ENDPOINT_URL", None)

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Hangzhou


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--breaches", type=int, default=500)
    parser.add_argument("--days", type=float, default=3.0)
    args = parser.parse_args()
    import boto3
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    from chalicelib.bootstrap import build_case_service, build_escalation_service, build_notifier_service
    from chalicelib.config import Settings
    from chalicelib.domain import commands as cmd
    from local.stack import REGION, provision_and_seed

    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        ddb, sns, sqs, ses = (session.client(name) for name in ("dynamodb", "sns", "sqs", "sesv2"))
        sms_log = sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages
        mail_log = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages

        def stage(name: str) -> tuple[Settings, Any]:
            env = provision_and_seed(name)
            settings = Settings(table_name=env["TABLE_NAME"], escalation_topic_arn=env["ESCALATION_TOPIC_ARN"],
                                console_link_base="https://cd.example.cn", ses_sender="desk@example.com")
            ses.create_email_identity(EmailIdentity=settings.ses_sender)
            queue = sqs.create_queue(QueueName=f"{name}-notify")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sns.subscribe(TopicArn=settings.escalation_topic_arn, Protocol="sqs", Endpoint=arn,
                          Attributes={"RawMessageDelivery": "true"})
            return settings, queue

        def drain(queue: str) -> list[dict[str, Any]]:
            payloads = []
            while True:
                got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
                if not got:
                    return payloads
                for message in got:
                    payloads.append(json.loads(message["Body"])["payload"])
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])

        # 1. 500 breaches at one unit within one minute
        settings, queue = stage("bench-digest")
        clock = Clock(START)
        cases = build_case_service(settings, ddb, sns, now=clock)
        notifier = build_notifier_service(settings, ddb, sns, ses, now=clock)
        letter = {"type": "praise", "channel": "letter", "unit_id": "store-xh-01", "cause": None,
                  "customer": {"name": "Bench", "phone": "13800001234"}, "five_w": {"what": "kind cashier"}}
        for n in range(args.breaches):
            received = START - timedelta(hours=25) + timedelta(seconds=n * 60 / args.breaches)
            cases.register(cmd.IntakeRequest.model_validate({**letter, "received_at": received.isoformat()}), None,
                           "bench")
        began = time.perf_counter()
        run = build_escalation_service(settings, ddb, sns, now=clock).run()
        ran = time.perf_counter()
        queued = notifier.accept(drain(queue))
        accepted = time.perf_counter()
        clock.now += timedelta(seconds=61)
        flushed = notifier.flush()
        seconds = time.perf_counter() - began
        phases = f"run {ran - began:.1f} s, queue {accepted - ran:.1f} s, digest {time.perf_counter() - accepted:.1f} s"
        per_phone: dict[str, int] = {}
        for phone, _text in sms_log.values():
            per_phone[phone] = per_phone.get(phone, 0) + 1
        per_mail: dict[str, int] = {}
        for mail in mail_log:
            for to in mail.destinations["ToAddresses"]:
                per_mail[to] = per_mail.get(to, 0) + 1
        recorded = sum(1 for page in ddb.get_paginator("scan").paginate(TableName=settings.table_name)
                       for item in page["Items"] if item.get("entity", {}).get("S") == "escalation")
        print(f"{args.breaches} breaches at store-xh-01 within one minute")
        print(f"  escalations sent by the run  {run.sent}   recorded {recorded}   queued for people {queued.queued}")
        print(f"  SMS per manager per window   {per_phone}   (target 1 each)")
        print(f"  emails per manager           {per_mail}   (target 1 each)")
        print(f"  digest of                    {flushed.people} person(s); {seconds:.1f} s in moto ({phases})")

        # 2. 10 unattended public filings over three days
        sms_log.clear()
        mail_log.clear()
        settings, queue = stage("bench-unattended")
        clock = Clock(START)
        cases = build_case_service(settings, ddb, sns, now=clock)
        notifier = build_notifier_service(settings, ddb, sns, ses, now=clock)
        web = {"type": "complaint", "unit_id": "store-xh-01", "customer": {"name": "Bench", "phone": "13800001234"},
               "five_w": {"what": "charged twice"}, "cause": {"category": "service"}}
        for n in range(10):
            clock.now = START + timedelta(minutes=6 * n)
            cases.register_public(cmd.PublicIntakeRequest.model_validate(web))
        escalations = 0
        while clock.now < START + timedelta(days=args.days):
            clock.now += timedelta(minutes=5)
            escalations += build_escalation_service(settings, ddb, sns, now=clock).run().sent
            notifier.accept(drain(queue))
        print(f"10 public filings at store-xh-01, unattended for {args.days:g} days (runs every 5 minutes)")
        print(f"  escalations {escalations}; SMS sent {len(sms_log)}; emails sent {len(mail_log)} "
              "(before the digest: 100 SMS and 100 emails)")


if __name__ == "__main__":
    main()
