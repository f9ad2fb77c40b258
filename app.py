"""Complaint Desk: the API (its routes by area in chalicelib/api/routes, registered here with the
middleware every request passes) and the scheduled and queue-driven functions."""

from __future__ import annotations

import uuid
from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Rate, SQSEvent

from chalicelib.api import http
from chalicelib.api.routes import admin, cases, public, reports
from chalicelib.api.routes import archive as auditors
from chalicelib.bootstrap import archive_service, escalation_service, report_service, signed_in
from chalicelib.config import get_settings
from chalicelib.domain.auth import API_KEY_ROUTES, PUBLIC_ROUTES, Principal
from chalicelib.observability import logger, mask_logger

app = Chalice(app_name="complaint-desk")
app.register_middleware(http.uniform_errors, "http")
mask_logger(app.log)
for area in (public, cases, admin, auditors, reports):
    app.register_blueprint(area.routes)
settings = get_settings()
local_api_keys = frozenset(key for key in settings.intake_api_keys.split(",") if key)


@app.middleware("http")
def request_context(event, get_response):  # type: ignore[no-untyped-def]
    """A fresh log context per request, so one case's id never leaks into another's lines."""
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(path=event.path, method=event.method,
                                   request_id=event.context.get("requestId") or uuid.uuid4().hex)
    try:
        return get_response(event)
    except Exception:  # raised outside a route's own error mapping (e.g. the token check)
        return http.internal_error()


@app.middleware("http")
def authenticate(event, get_response):  # type: ignore[no-untyped-def]
    """A staff token and a role the route allows (chalicelib/domain/auth.py: ROUTE_ROLES)."""
    return http.authenticated(event, get_response, signed_in, PUBLIC_ROUTES, API_KEY_ROUTES, local_api_keys,
                              archive_refusal)


def archive_refusal(route: tuple[str, str], principal: Principal, params: dict[str, str], request_id: str) -> None:
    """A refused attempt on an archive route is in the audit log like any access (rulebook §7)."""
    from chalicelib.domain.archive_records import ARCHIVE_ROUTE_ACTIONS

    if route in ARCHIVE_ROUTE_ACTIONS:
        archive_service().refused(ARCHIVE_ROUTE_ACTIONS[route], params.get("case_id", "")[:40], principal,
                                  request_id, 403)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="escalate")
def escalate(event: CloudWatchEvent) -> dict[str, Any]:
    """Deadline warnings, breaches and escalations up the organisation."""
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
    logger.thread_safe_clear_keys()
    return archive_service().run().as_dict()


@app.schedule(Rate(1, unit=Rate.HOURS), name="reports")
def send_reports(event: CloudWatchEvent) -> dict[str, Any]:
    """Daily registers to store managers and weekly reports to operations managers."""
    logger.thread_safe_clear_keys()
    return report_service().send_due()
