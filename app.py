"""Complaint Desk API: routes only; each parses, calls one service, returns its result."""

from __future__ import annotations

import uuid

from chalice import Chalice, Rate, Response
from chalice.app import CloudWatchEvent, SQSEvent

from chalicelib.api import http, web
from chalicelib.bootstrap import (
    archive_service,
    case_service,
    escalation_service,
    organisation_service,
    report_service,
    signed_in,
    staff_service,
    staff_writes,
)
from chalicelib.config import get_settings
from chalicelib.domain.auth import API_KEY_ROUTES, PUBLIC_ROUTES, Principal
from chalicelib.domain.commands import (
    ACTION_COMMANDS,
    CalendarOverridesRequest,
    HotlineIntakeRequest,
    IntakeRequest,
    PublicIntakeRequest,
    RetrieveArchivedFile,
    SetLegalHold,
    SpotCheckResult,
    StaffImport,
    StartSpotCheck,
    SurveyAnswer,
    VerifyArchivedFiles,
)
from chalicelib.domain.models import Unit
from chalicelib.domain.staff import StaffDetails
from chalicelib.observability import logger, mask_logger

app = Chalice(app_name="complaint-desk")
app.register_middleware(http.uniform_errors, "http")
mask_logger(app.log)
settings = get_settings()
public_filings = http.RateLimiter(settings.public_requests_per_minute)
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
    """Issue 5: a staff token and a role the route allows (chalicelib/domain/auth.py: ROUTE_ROLES)."""
    return http.authenticated(event, get_response, signed_in, PUBLIC_ROUTES, API_KEY_ROUTES, local_api_keys,
                              archive_refusal)


def archive_refusal(route: tuple[str, str], principal: Principal, params: dict[str, str], request_id: str) -> None:
    """A refused attempt on an archive route is in the audit log like any access (rulebook §7)."""
    from chalicelib.domain.archive_records import ARCHIVE_ROUTE_ACTIONS

    if route in ARCHIVE_ROUTE_ACTIONS:
        archive_service().refused(ARCHIVE_ROUTE_ACTIONS[route], params.get("case_id", "")[:40], principal,
                                  request_id, 403)


@app.route("/", methods=["GET"])
@http.documented("", media=("text/html",))
def intake_form() -> Response:
    """The public web form (Chinese and English): file a case, get a receipt with a tracking link."""
    return web.page("form", settings.auth_signin_url)


@app.route("/track", methods=["GET"])
@http.documented("", media=("text/html",))
def status_page() -> Response:
    """The complainant's status page for a tracking link (the token stays in the URL fragment)."""
    return web.page("track", settings.auth_signin_url)


@app.route("/console", methods=["GET"])
@http.documented("", media=("text/html",))
def staff_console() -> Response:
    """The staff console: open cases by deadline, case pages with their actions, statistics."""
    return web.page("console", settings.auth_signin_url)


@app.route("/c/{target}", methods=["GET"])
@http.documented("", 302, media=("text/html",))
def short_link(target: str) -> Response:
    """The short link SMS and email carry (a Chinese SMS has 70 characters): the case's page in
    the staff console (which asks the person to sign in), or their inbox for a digest."""
    from chalicelib.domain.identifiers import is_case_id

    where = f"../console#case/{target}" if is_case_id(target) else "../console#inbox"
    return Response(body="", status_code=302, headers={"Location": where, "Cache-Control": "no-store"})


@app.route("/assets/{name}", methods=["GET"])
@http.documented("", media=("text/css", "text/javascript"))
def page_asset(name: str) -> Response:
    return web.asset(name)


@app.route("/public/units", methods=["GET"], cors=True)
@http.documented("UnitList")
@http.handles_errors
def public_units() -> dict:
    """The units a customer may address on the web form (no contacts)."""
    return {"items": case_service().units()}


@app.route("/public/sign-in", methods=["GET"])
@http.documented("SignIn")
@http.handles_errors
def sign_in() -> dict:
    """Where the console sends staff to sign in (Cognito's hosted page, code flow with PKCE)."""
    return web.sign_in(settings.auth_signin_url, settings.auth_audience)


@app.route("/openapi.json", methods=["GET"], cors=True)
@http.documented("OpenApiDocument")
@http.handles_errors
def openapi_document() -> dict:
    """This API's OpenAPI 3.1 document, generated from its routes and models (issue 9)."""
    return http.openapi_document(app)


@app.route("/units", methods=["GET"])
@http.documented("UnitList")
@http.handles_errors
def list_units() -> dict:
    return {"items": case_service().units()}


@app.route("/units/{unit_id}", methods=["PUT"])
@http.documented("UnitChanged", request=Unit)
@http.handles_errors
def put_unit(unit_id: str) -> dict:
    """An administrator adds or changes a unit; its managers' SMS/email subscriptions follow."""
    unit = http.parse(Unit, http.json_body(app.current_request.raw_body, settings.max_body_bytes))
    return organisation_service().put_unit(unit_id, unit)


@app.route("/staff", methods=["GET"])
@http.documented("StaffList", query=("unit_id",))
@http.handles_errors
def list_staff() -> dict:
    """The staff directory, or one unit's staff and the units below it."""
    from chalicelib.services.staff import staff_views

    unit_id = (app.current_request.query_params or {}).get("unit_id")
    return {"items": staff_views(staff_service().list(unit_id))}


@app.route("/staff", methods=["POST"])
@http.documented("StaffView", 201, StaffDetails)
@http.handles_errors
def add_staff() -> Response:
    """An administrator adds a person: the identity provider creates their sign-in and their id."""
    from chalicelib.services.staff import staff_view

    details = http.parse(StaffDetails, http.json_body(app.current_request.raw_body, settings.max_body_bytes))
    member = staff_service().add(details)
    return Response(body=staff_view(member), status_code=201, headers={"Location": f"/staff/{member.staff_id}"})


@app.route("/staff/import", methods=["POST"])
@http.documented("StaffImported", request=StaffImport)
@http.handles_errors
def import_staff() -> dict:
    """Many people at once (JSON rows or CSV text): each row stored whole or refused with its line."""
    from dataclasses import asdict

    from chalicelib.domain.staff import rows_from_csv

    body = http.parse(StaffImport, http.json_body(app.current_request.raw_body, settings.max_import_bytes))
    rows = (rows_from_csv(body.csv) if body.csv is not None
            else [(int(row.pop("line", n)) if str(row.get("line", n)).isdigit() else n, row)
                  for n, row in enumerate(body.rows or [], start=1)])
    return asdict(staff_service().import_rows(rows))


@app.route("/staff/{staff_id}", methods=["GET"])
@http.documented("StaffView")
@http.handles_errors
def get_staff(staff_id: str) -> dict:
    from chalicelib.services.staff import staff_view

    return staff_view(staff_service().get(staff_id))


@app.route("/staff/{staff_id}", methods=["PUT"])
@http.documented("StaffView", request=StaffDetails)
@http.handles_errors
def update_staff(staff_id: str) -> dict:
    from chalicelib.services.staff import staff_view

    details = http.parse(StaffDetails, http.json_body(app.current_request.raw_body, settings.max_body_bytes))
    return staff_view(staff_service().update(staff_id, details))


@app.route("/staff/{staff_id}/deactivate", methods=["POST"])
@http.documented("StaffView")
@http.handles_errors
def deactivate_staff(staff_id: str) -> dict:
    """The person can no longer sign in nor receive escalations; their name stays on their cases."""
    from chalicelib.services.staff import staff_view

    return staff_view(staff_service().deactivate(staff_id))


@app.route("/inbox", methods=["GET"])
@http.documented("Inbox")
@http.handles_errors
def my_inbox() -> dict:
    """The signed-in person's escalations, newest first, as their SMS and email carried them."""
    from chalicelib.bootstrap import notifier_service

    return {"items": notifier_service().inbox(http.principal().subject)}


@app.route("/cases", methods=["POST"])
@http.documented("CaseView", 201, IntakeRequest, headers=("Idempotency-Key",), rate_limited=True)
@http.handles_errors
def register_case() -> Response:
    request = app.current_request
    intake = http.parse(IntakeRequest, http.json_body(request.raw_body, settings.max_body_bytes))
    user = http.principal()
    staff_writes().hit(user.subject)
    case_service().bind_lambda_context(app.lambda_context)
    outcome = case_service().register(intake, http.idempotency_key(request.headers, http.staff_caller(user)), user)
    return http.registered(outcome.case, outcome.replayed)


@app.route("/intake/hotline", methods=["POST"], api_key_required=True)
@http.documented("CaseView", 201, HotlineIntakeRequest, headers=("Idempotency-Key",))
@http.handles_errors
def hotline_intake() -> Response:
    """A hotline system registers a call (API key, throttled by its usage plan); Idempotency-Key
    makes its retries safe."""
    request = app.current_request
    call = http.parse(HotlineIntakeRequest, http.json_body(request.raw_body, settings.max_body_bytes))
    case_service().bind_lambda_context(app.lambda_context)
    key = http.idempotency_key(request.headers, http.api_key_caller(request))
    outcome = case_service().register(call.as_intake(), key, "hotline system")
    return http.registered(outcome.case, outcome.replayed)


@app.route("/public/cases", methods=["POST"], cors=True)
@http.documented("Receipt", 201, PublicIntakeRequest)
@http.handles_errors
def file_public_case() -> Response:
    """The public web form (no sign-in): a receipt with the tracking token, or a clear 400."""
    request = app.current_request
    public_filings.check(http.source_ip(request))
    body = http.parse(PublicIntakeRequest, http.json_body(request.raw_body, settings.public_max_body_bytes))
    receipt = case_service().register_public(body)
    return Response(body=receipt, status_code=201, headers={"Location": receipt["status_url"]})


@app.route("/public/track/{token}", methods=["GET"], cors=True)
@http.documented("PublicStatus")
@http.handles_errors
def track_case(token: str) -> dict:
    """A complainant's view of their case: status and deadlines, nothing staff wrote."""
    return case_service().track(token)


@app.route("/public/track/{token}/rating", methods=["POST"], cors=True)
@http.documented("PublicStatus", request=SurveyAnswer, conflicts=True, rate_limited=True)
@http.handles_errors
def rate_case(token: str) -> dict:
    """The customer's own satisfaction rating (1–5, and a comment) on their status page, once the
    case is answered: it is recorded as theirs and closes the case; a second rating is 409."""
    request = app.current_request
    public_filings.check(http.source_ip(request))
    answer = http.parse(SurveyAnswer, http.json_body(request.raw_body, settings.public_max_body_bytes))
    return case_service().rate(token, answer)


@app.route("/cases", methods=["GET"])
@http.documented("CaseList", query=("unit_id", "status", "limit", "cursor"))
@http.handles_errors
def list_cases() -> dict:
    query = app.current_request.query_params or {}
    return case_service().list(query.get("unit_id"), query.get("status"), query.get("limit"),
                               query.get("cursor"), settings.max_page_size, settings.default_page_size,
                               http.principal())


@app.route("/cases/{case_id}", methods=["GET"])
@http.documented("CaseView")
@http.handles_errors
def get_case(case_id: str) -> Response:
    return http.case_response(case_service().get(case_id, http.principal()))


def _action_route(action: str, command_type: type) -> None:
    @app.route(f"/cases/{{case_id}}/{action}", methods=["POST"], name=f"case_{action.replace('-', '_')}")
    @http.documented("CaseView", request=command_type, headers=("If-Match",), rate_limited=True)
    @http.handles_errors
    def act(case_id: str) -> Response:
        request = app.current_request
        command = http.command(command_type, request.raw_body, settings.max_body_bytes)
        staff_writes().hit(http.principal().subject)
        return http.case_response(case_service().act(case_id, action, command,
                                                     http.if_match_version(request.headers), http.principal()))


for _action, _command in ACTION_COMMANDS.items():
    _action_route(_action, _command)


@app.route("/calendars/{country}", methods=["GET"])
@http.documented("CalendarView")
@http.handles_errors
def get_calendar(country: str) -> dict:
    return case_service().calendar(http.country_code(country))


@app.route("/calendars/{country}/overrides", methods=["PUT"])
@http.documented("CalendarLoaded", request=CalendarOverridesRequest)
@http.handles_errors
def load_calendar_overrides(country: str) -> dict:
    """Official holiday / working dates, loaded without a deploy; open deadlines follow."""
    body = http.command(CalendarOverridesRequest, app.current_request.raw_body, settings.max_body_bytes)
    return case_service().load_calendar_overrides(http.country_code(country), body.working_days(), body.actor)


@app.route("/archive", methods=["GET"])
@http.documented("ArchiveList", query=("unit_id", "closed_from", "closed_to", "limit", "cursor"))
@http.handles_errors
def list_archive() -> dict:
    """Issue 4: archived case files of a unit closed in a date range, from the archive index."""
    query = app.current_request.query_params or {}
    return archive_service().list(query.get("unit_id"), query.get("closed_from"), query.get("closed_to"),
                                  query.get("limit"), query.get("cursor"), settings.max_page_size,
                                  settings.default_page_size, http.principal())


@app.route("/archive/{case_id}", methods=["GET"])
@http.documented("ArchivedFiles")
@http.handles_errors
def archived_files(case_id: str) -> dict:
    return archive_service().files(case_id, http.principal(), http.request_id())


@app.route("/archive/{case_id}/retrieve", methods=["POST"])
@http.documented("Retrieval", request=RetrieveArchivedFile)
@http.handles_errors
def retrieve_archived_file(case_id: str) -> dict:
    body = http.command(RetrieveArchivedFile, app.current_request.raw_body, settings.max_body_bytes)
    return archive_service().retrieve(case_id, body.format.value, body.actor, http.principal(), http.request_id())


@app.route("/archive/{case_id}/verify", methods=["POST"])
@http.documented("Verification", request=VerifyArchivedFiles)
@http.handles_errors
def verify_archived_files(case_id: str) -> dict:
    body = http.command(VerifyArchivedFiles, app.current_request.raw_body, settings.max_body_bytes)
    return archive_service().verify(case_id, body.actor, http.principal(), http.request_id())


@app.route("/archive/{case_id}/legal-hold", methods=["PUT"])
@http.documented("ArchivedFiles", request=SetLegalHold)
@http.handles_errors
def set_legal_hold(case_id: str) -> dict:
    body = http.command(SetLegalHold, app.current_request.raw_body, settings.max_body_bytes)
    return archive_service().legal_hold(case_id, body.hold, body.actor, body.reason, http.principal(),
                                        http.request_id())


@app.route("/audit-log", methods=["GET"])
@http.documented("AuditLog", query=("case_id", "date"))
@http.handles_errors
def audit_log() -> dict:
    """Every retrieval, verification and legal hold of an archived file: by case or by day."""
    query = app.current_request.query_params or {}
    return archive_service().audit_log(query.get("case_id"), query.get("date"), http.principal(), http.request_id())


@app.route("/audit-log/chain", methods=["GET"])
@http.documented("AuditChain", query=("from", "to"))
@http.handles_errors
def audit_chain() -> dict:
    """The audit log's daily exported files, each read back, hashed and linked to the day before."""
    query = app.current_request.query_params or {}
    return archive_service().audit_chain(query.get("from"), query.get("to"), http.principal(), http.request_id())


def summary_rows(report: dict) -> list[dict]:
    """The statistics summary as `metric,value` rows."""
    from chalicelib.domain.reports import flat_rows

    return flat_rows(report["summary"])


@app.route("/reports/statistics", methods=["GET"])
@http.documented("StatisticsReport", query=("unit_id", "from", "to", "format"), csv=True)
@http.handles_errors
def statistics_report() -> Response:
    """Classified statistics of a unit and the units below it for a date range (issue 7)."""
    query = app.current_request.query_params or {}
    fmt = http.report_format(query)
    report = report_service().statistics(query.get("unit_id"), query.get("from"), query.get("to"), http.principal())
    return http.report_response(report, fmt, summary_rows, ("metric", "value"),
                                f"statistics-{report['unit_id']}-{report['from']}-{report['to']}")


@app.route("/reports/daily-register", methods=["GET"])
@http.documented("DailyRegister", query=("unit_id", "date", "format"), csv=True)
@http.handles_errors
def daily_register() -> Response:
    """A unit's open cases, nearest deadline first, with what falls due today and tomorrow."""
    query = app.current_request.query_params or {}
    fmt = http.report_format(query)
    register = report_service().daily_register(query.get("unit_id"), query.get("date"), http.principal())
    from chalicelib.domain.reports import REGISTER_COLUMNS

    return http.report_response(register, fmt, lambda r: r["cases"], REGISTER_COLUMNS,
                                f"daily-register-{register['unit_id']}-{register['date']}")


@app.route("/reports/weekly", methods=["GET"])
@http.documented("WeeklyReport", query=("unit_id", "week_of", "format"), csv=True)
@http.handles_errors
def weekly_report() -> Response:
    """The operations manager's weekly report: complaints, handling, on-time rates, trends."""
    query = app.current_request.query_params or {}
    fmt = http.report_format(query)
    report = report_service().weekly_report(query.get("unit_id"), query.get("week_of"), http.principal())
    from chalicelib.domain.reports import COMPLAINT_COLUMNS

    return http.report_response(report, fmt, lambda r: r["complaints"], COMPLAINT_COLUMNS,
                                f"weekly-report-{report['unit_id']}-{report['from']}")


@app.route("/spot-checks", methods=["POST"])
@http.documented("SpotCheck", 201, StartSpotCheck, conflicts=True)
@http.handles_errors
def start_spot_check() -> Response:
    """The branch samples a share of a unit's handled cases to verify (rulebook §6)."""
    body = http.command(StartSpotCheck, app.current_request.raw_body, settings.max_body_bytes)
    check = report_service().start_spot_check(body.unit_id, body.from_date.isoformat(), body.to_date.isoformat(),
                                              body.share, body.actor, http.principal())
    return Response(body=check, status_code=201, headers={"Location": f"/spot-checks/{check['check_id']}"})


@app.route("/spot-checks/{check_id}", methods=["GET"])
@http.documented("SpotCheck")
@http.handles_errors
def get_spot_check(check_id: str) -> dict:
    return report_service().spot_check(check_id, http.principal())


@app.route("/spot-checks/{check_id}/results", methods=["POST"])
@http.documented("SpotCheck", request=SpotCheckResult)
@http.handles_errors
def record_spot_check_result(check_id: str) -> dict:
    """One sampled case verified; a mismatch orders rectification by a deadline (限期整改)."""
    body = http.command(SpotCheckResult, app.current_request.raw_body, settings.max_body_bytes)
    return report_service().record_result(check_id, body.case_id, body.matches, body.note, body.actor,
                                          body.rectify_within_working_days, http.principal())


@app.schedule(Rate(1, unit=Rate.MINUTES), name="escalate")
def escalate(event: CloudWatchEvent) -> dict:
    """Deadline warnings, breaches and escalations up the organisation (issue 3)."""
    logger.thread_safe_clear_keys()
    return escalation_service().run().as_dict()


# The queue's name is written into the packaged template inside an Fn::Sub, so "${Stage}" there
# is the stack's Stage parameter: each stage's notifier reads its own queue (infra/resources.yaml).
@app.on_sqs_message(queue="complaint-desk-${Stage}-notify", batch_size=10, name="notify")
def notify(event: SQSEvent) -> dict:
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
def sms_receipts(event: dict, context: object) -> dict:
    """SMS delivery status from SNS's delivery logs (a CloudWatch Logs subscription)."""
    from chalicelib.adapters.messaging import receipts_from_sms_logs
    from chalicelib.bootstrap import customer_contact_service, notifier_service

    receipts = receipts_from_sms_logs(event.get("awslogs", {}).get("data", ""))
    for receipt in receipts:
        if notifier_service().feedback(*receipt) is None:
            customer_contact_service().feedback(*receipt)
    return {"receipts": len(receipts)}


@app.schedule(Rate(1, unit=Rate.MINUTES), name="deliver")
def deliver(event: CloudWatchEvent) -> dict:
    """Digests whose window has ended (and any the notifier left to retry); customer messages a
    provider did not take, and the satisfaction survey's reminders that are due."""
    from chalicelib.bootstrap import customer_contact_service, notifier_service

    logger.thread_safe_clear_keys()
    return {**notifier_service().flush().as_dict(),
            "customers": customer_contact_service().run_due().as_dict()}


@app.schedule(Rate(15, unit=Rate.MINUTES), name="archive")
def archive(event: CloudWatchEvent) -> dict:
    """Closed cases past their settle period go to the write-once archive (issue 4)."""
    logger.thread_safe_clear_keys()
    return archive_service().run().as_dict()


@app.schedule(Rate(1, unit=Rate.HOURS), name="reports")
def send_reports(event: CloudWatchEvent) -> dict:
    """Daily registers to store managers and weekly reports to operations managers (issue 7)."""
    logger.thread_safe_clear_keys()
    return report_service().send_due()
