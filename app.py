"""Complaint Desk: the API (its middleware and routes by area in chalicelib/api, loaded only by the
API's function) and the scheduled and queue-driven functions."""

from __future__ import annotations

import os
from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Rate, SQSEvent

from chalicelib.observability import logger, mask_logger

app = Chalice(app_name="complaint-desk")
mask_logger(app.log)


def serves_http() -> bool:
    """Lambda names each function's handler in `_HANDLER` (`app.app` for the API, `app.escalate`
    for the escalation run, …): a scheduled or queue-driven function does not load the routes and
    their models. Without it (`chalice package`, the local stack, tests) every route is there."""
    return os.environ.get("_HANDLER", "app.app") == "app.app"


if serves_http():
    from chalicelib.api.wiring import serve_http

    serve_http(app)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="escalate")
def escalate(event: CloudWatchEvent) -> dict[str, Any]:
    """Deadline warnings, breaches and escalations up the organisation."""
    from chalicelib.bootstrap import escalation_service

    logger.thread_safe_clear_keys()
    return escalation_service().run().as_dict()


# The queue's name is written into the packaged template inside an Fn::Sub, so "${Stage}" there
# is the stack's Stage parameter: each stage's notifier reads its own queue (infra/resources.yaml).
@app.on_sqs_message(queue="complaint-desk-${Stage}-notify", batch_size=10, name="notify")
def notify(event: SQSEvent) -> dict[str, Any]:
    """Escalations from the topic (its queue): each person told by SMS and email, in their language,
    one digest per window; SES's events on the same queue move email deliveries on."""
    import json

    from chalicelib.adapters.messaging import receipt_from_ses_event
    from chalicelib.bootstrap import customer_contact_service, notifier_service

    logger.thread_safe_clear_keys()
    notifier = notifier_service()
    documents = [json.loads(record.body) for record in event]
    for receipt in filter(None, (receipt_from_ses_event(doc) for doc in documents if "payload" not in doc)):
        if notifier.feedback(*receipt) is None:  # an email's delivery or bounce, from SES's events
            customer_contact_service().feedback(*receipt)  # … or a customer's
    return notifier.accept([doc["payload"] for doc in documents if "payload" in doc]).as_dict()


@app.lambda_function(name="sms_receipts")
def sms_receipts(event: dict[str, Any], context: object) -> dict[str, Any]:
    """SMS delivery status from SNS's delivery logs (a CloudWatch Logs subscription)."""
    from chalicelib.adapters.messaging import receipts_from_sms_logs
    from chalicelib.bootstrap import customer_contact_service, notifier_service

    receipts = receipts_from_sms_logs(event.get("awslogs", {}).get("data", ""))
    for receipt in receipts:
        if notifier_service().feedback(*receipt) is None:
            customer_contact_service().feedback(*receipt)
    return {"receipts": len(receipts)}


@app.schedule(Rate(1, unit=Rate.MINUTES), name="deliver")
def deliver(event: CloudWatchEvent) -> dict[str, Any]:
    """Digests whose window has ended (and any the notifier left to retry); customer messages a
    provider did not take, and the satisfaction survey's reminders that are due."""
    from chalicelib.bootstrap import customer_contact_service, notifier_service

    logger.thread_safe_clear_keys()
    return {**notifier_service().flush().as_dict(),
            "customers": customer_contact_service().run_due().as_dict()}


@app.schedule(Rate(15, unit=Rate.MINUTES), name="archive")
def archive(event: CloudWatchEvent) -> dict[str, Any]:
    """Closed cases past their settle period go to the write-once archive."""
    from chalicelib.bootstrap import archive_service

    logger.thread_safe_clear_keys()
    return archive_service().run().as_dict()


@app.schedule(Rate(1, unit=Rate.HOURS), name="reports")
def send_reports(event: CloudWatchEvent) -> dict[str, Any]:
    """Daily registers to store managers and weekly reports to operations managers."""
    from chalicelib.bootstrap import report_service

    logger.thread_safe_clear_keys()
    return report_service().send_due()
