"""Builds the services with their real adapters, once per cold start; tests pass their own."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings, get_settings

if TYPE_CHECKING:  # built only in the containers that use them
    from chalicelib.services.archive import ArchiveService
    from chalicelib.services.cases import CaseService
    from chalicelib.services.customer_contact import CustomerContactService
    from chalicelib.services.customers import CustomerHistory
    from chalicelib.services.escalation import EscalationService
    from chalicelib.services.notifier import NotifierService
    from chalicelib.services.organisation import OrganisationService
    from chalicelib.services.reports import ReportService
    from chalicelib.services.risk import RiskPhraseService
    from chalicelib.services.staff import StaffService


def utc_now() -> datetime:
    return datetime.now(UTC)


def dynamodb_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 5}))


def intake_idempotency(settings: Settings, client: Any) -> Any:
    """Powertools idempotency, storing its records in the case table under `IDEMPOTENCY#intake`."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    store = DynamoDBPersistenceLayer(
        table_name=settings.table_name, key_attr="pk", sort_key_attr="sk",
        static_pk_value="IDEMPOTENCY#intake", expiry_attr="expires_at", boto3_client=client,
    )
    config = IdempotencyConfig(event_key_jmespath="key", payload_validation_jmespath="payload",
                               expires_after_seconds=settings.idempotency_ttl_seconds,
                               raise_on_no_idempotency_key=True)

    def wrap(func: Any) -> Any:
        return idempotent_function(data_keyword_argument="request", persistence_store=store,
                                   config=config)(func)

    wrap.config = config  # type: ignore[attr-defined]
    return wrap


def sns_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("sns", config=Config(retries={"mode": "standard", "max_attempts": 3}))


def build_escalation_service(settings: Settings, client: Any | None = None, sns: Any | None = None,
                             now: Any = utc_now, units: Any | None = None) -> EscalationService:
    from datetime import timedelta

    from chalicelib.adapters.escalation_store import DynamoEscalationStore
    from chalicelib.adapters.notifications import SnsPublisher
    from chalicelib.services.escalation import EscalationService

    client = client or dynamodb_client()
    return EscalationService(
        store=DynamoEscalationStore(client, settings.table_name),
        publisher=SnsPublisher(sns or sns_client, settings.escalation_topic_arn),
        units=units or staffed_units(settings, client),
        ladder=settings.ladder(), now=now,
        lease=timedelta(seconds=settings.escalation_lease_seconds),
        max_items_per_run=settings.escalation_max_items_per_run,
        time_budget_seconds=settings.escalation_time_budget_seconds,
    )


def build_case_service(settings: Settings, client: Any | None = None, sns: Any | None = None,
                       now: Any = utc_now, units: Any | None = None) -> CaseService:
    from datetime import timedelta

    from chalicelib.adapters.case_repository import DynamoCaseRepository
    from chalicelib.adapters.unit_registry import DynamoCalendarOverrides
    from chalicelib.services.cases import CaseService

    client = client or dynamodb_client()
    units = units or staffed_units(settings, client)
    escalation = build_escalation_service(settings, client, sns, now, units)
    return CaseService(
        cases=DynamoCaseRepository(client, settings.table_name, settings.archive_policy().settle),
        units=units,
        now=now,
        idempotency=intake_idempotency(settings, client),
        ladder=settings.ladder(),
        calendars=DynamoCalendarOverrides(client, settings.table_name),
        send_notices=escalation.send_now,
        backdate_limit=timedelta(days=settings.backdate_max_days),
        staff=getattr(units, "directory", None),
        follow_up_days=settings.follow_up_days,
        risk_phrases=build_risk_phrase_service(settings, client, now).phrases,
        customers=customer_history(settings, client, units),
        contact=build_customer_contact_service(settings, client, sns, now=now, units=units),
    )


def build_risk_phrase_service(settings: Settings, client: Any | None = None,
                              now: Any = utc_now) -> RiskPhraseService:
    from chalicelib.adapters.risk_phrases import DynamoRiskPhrases
    from chalicelib.services.risk import RiskPhraseService

    return RiskPhraseService(DynamoRiskPhrases(client or dynamodb_client(), settings.table_name), now)


def customer_history(settings: Settings, client: Any, units: Any) -> CustomerHistory | None:
    """Links the cases of one customer, when the stage has a customer key."""
    if not settings.customer_key_secret_arn:
        return None
    from chalicelib.adapters.customers import DynamoCustomerLinks
    from chalicelib.services.customers import CustomerHistory

    return CustomerHistory(DynamoCustomerLinks(client, settings.table_name),
                           partial(customer_key, settings.customer_key_secret_arn), units)


def customer_key_if(secret_arn: str) -> bytes | None:
    """The customer key where the stage has one (every deployed stage and the local stack)."""
    return customer_key(secret_arn) if secret_arn else None


@lru_cache(maxsize=1)
def customer_key(secret_arn: str) -> bytes:
    """The customer index's HMAC key from Secrets Manager, once per container. If Secrets Manager
    cannot be reached (after boto3's retries) the request fails with 503 and the caller retries:
    a case registered without its link would be missed as a repeat complaint for good."""
    import boto3
    from botocore.config import Config

    client = boto3.client("secretsmanager", config=Config(retries={"mode": "standard", "max_attempts": 5}))
    return str(client.get_secret_value(SecretId=secret_arn)["SecretString"]).encode()


def s3_client() -> Any:
    import boto3
    from botocore.config import Config

    # SigV4 so presigned links work in every region; standard retries for throttling and 5xx.
    return boto3.client("s3", config=Config(signature_version="s3v4",
                                            retries={"mode": "standard", "max_attempts": 5}))


def build_archive_service(settings: Settings, client: Any | None = None, s3: Any | None = None,
                          now: Any = utc_now, units: Any | None = None, export_now: Any = None) -> ArchiveService:
    from chalicelib.adapters.archive_store import DynamoArchiveIndex, S3ArchiveStore
    from chalicelib.adapters.case_repository import DynamoCaseRepository
    from chalicelib.services.archive import ArchiveService

    client = client or dynamodb_client()
    policy = settings.archive_policy()
    units = units or staffed_units(settings, client)
    return ArchiveService(
        cases=DynamoCaseRepository(client, settings.table_name, policy.settle),
        index=DynamoArchiveIndex(client, settings.table_name),
        files=S3ArchiveStore(s3 or s3_client, settings.archive_bucket),
        units=units,
        policy=policy, now=now, url_seconds=settings.archive_url_seconds,
        max_cases_per_run=settings.archive_max_cases_per_run,
        time_budget_seconds=settings.archive_time_budget_seconds, export_now=export_now,
        customers=customer_history(settings, client, units),
    )


def build_organisation_service(settings: Settings, client: Any | None = None, sns: Any | None = None,
                               units: Any | None = None) -> OrganisationService:
    from chalicelib.services.organisation import OrganisationService

    client = client or dynamodb_client()
    units = units or staffed_units(settings, client)
    cases = build_case_service(settings, client, sns, units=units)
    return OrganisationService(units, recount=cases.recount_unit_deadlines)


def build_report_service(settings: Settings, client: Any | None = None, sns: Any | None = None,
                         now: Any = utc_now, units: Any | None = None) -> ReportService:
    from functools import partial

    from chalicelib.adapters.case_repository import DynamoCaseRepository
    from chalicelib.adapters.notifications import SnsPublisher
    from chalicelib.adapters.spot_check_store import DynamoSpotChecks
    from chalicelib.adapters.statistics_store import DynamoSentReports, DynamoStatsReader
    from chalicelib.adapters.unit_registry import DynamoCalendarOverrides
    from chalicelib.services.cases import unit_clock
    from chalicelib.services.reports import ReportService

    client = client or dynamodb_client()
    units = units or staffed_units(settings, client)
    return ReportService(
        cases=DynamoCaseRepository(client, settings.table_name, settings.archive_policy().settle),
        units=units,
        stats=DynamoStatsReader(client, settings.table_name),
        spot_checks=DynamoSpotChecks(client, settings.table_name),
        publish=SnsPublisher(sns or sns_client, settings.escalation_topic_arn).publish,
        sent_reports=DynamoSentReports(client, settings.table_name),
        unit_clock=partial(unit_clock, units, DynamoCalendarOverrides(client, settings.table_name)),
        now=now, ladder=settings.ladder(),
        rectify_working_days=settings.rectify_working_days,
        customers=customer_history(settings, client, units),
        people=getattr(units, "staff", lambda staff_id: None),
    )


def staffed_units(settings: Settings, client: Any) -> Any:
    """The organisation with each unit's managers as the staff directory has them."""
    from chalicelib.adapters.staff_directory import DynamoStaffDirectory, StaffedUnits
    from chalicelib.adapters.unit_registry import DynamoUnitRegistry

    return StaffedUnits(DynamoUnitRegistry(client, settings.table_name),
                        DynamoStaffDirectory(client, settings.table_name))


def identity_provider(settings: Settings) -> Any:
    """Cognito where the stage has a user pool, else the local stand-in."""
    from chalicelib.adapters.staff_directory import CognitoIdentityProvider, LocalIdentityProvider

    if not settings.user_pool_id:
        return LocalIdentityProvider()
    import boto3

    return CognitoIdentityProvider(boto3.client("cognito-idp"), settings.user_pool_id)


def build_staff_service(settings: Settings, client: Any | None = None, sns: Any | None = None,
                        units: Any | None = None, identity: Any | None = None) -> StaffService:
    from chalicelib.services.staff import StaffService

    client = client or dynamodb_client()
    units = units or staffed_units(settings, client)
    return StaffService(units.directory, units, identity or identity_provider(settings))


def ses_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("sesv2", config=Config(retries={"mode": "standard", "max_attempts": 3}))


def build_notifier_service(settings: Settings, client: Any | None = None, sns: Any | None = None,
                           ses: Any | None = None, now: Any = utc_now, people: Any | None = None) -> NotifierService:
    import json
    from datetime import timedelta

    from chalicelib.adapters.delivery_store import DynamoDeliveryStore
    from chalicelib.adapters.messaging import SesEmail, SnsSms
    from chalicelib.adapters.staff_directory import DynamoStaffDirectory
    from chalicelib.services.notifier import NotifierService

    client = client or dynamodb_client()
    return NotifierService(
        store=DynamoDeliveryStore(client, settings.table_name),
        sms=SnsSms(sns or sns_client, json.loads(settings.sms_sender_ids or "{}")),
        email=SesEmail(ses or ses_client, settings.ses_sender, settings.ses_configuration_set),
        people=people or DynamoStaffDirectory(client, settings.table_name),
        now=now, link_base=settings.console_link_base,
        window=timedelta(minutes=settings.digest_window_minutes),
        gather=timedelta(seconds=settings.digest_gather_seconds))


def build_customer_contact_service(settings: Settings, client: Any | None = None, sns: Any | None = None,
                                   ses: Any | None = None, now: Any = utc_now,
                                   units: Any | None = None) -> CustomerContactService:
    """Messages to customers: the same SMS and email providers as the notifier's."""
    import json
    from datetime import timedelta

    from chalicelib.adapters.case_repository import DynamoCaseRepository
    from chalicelib.adapters.customer_outbox import DynamoCustomerOutbox
    from chalicelib.adapters.messaging import SesEmail, SnsSms
    from chalicelib.services.customer_contact import CustomerContactService

    client = client or dynamodb_client()
    outbox = DynamoCustomerOutbox(client, settings.table_name)
    return CustomerContactService(
        outbox=outbox,
        sms=SnsSms(sns or sns_client, json.loads(settings.sms_sender_ids or "{}")),
        email=SesEmail(ses or ses_client, settings.ses_sender, settings.ses_configuration_set),
        units=units or staffed_units(settings, client), now=now, link_base=settings.console_link_base,
        cases=DynamoCaseRepository(client, settings.table_name, settings.archive_policy().settle),
        sms_per_number_per_day=settings.customer_sms_per_number_per_day,
        survey_reminder_after=timedelta(days=settings.survey_reminder_days),
        number_secret=partial(customer_key_if, settings.customer_key_secret_arn))


@lru_cache(maxsize=1)
def customer_contact_service() -> CustomerContactService:
    return build_customer_contact_service(get_settings(), units=unit_registry())


@lru_cache(maxsize=1)
def notifier_service() -> NotifierService:
    return build_notifier_service(get_settings())


@lru_cache(maxsize=1)
def token_verifier() -> Any:
    from chalicelib.adapters.tokens import TokenVerifier

    settings = get_settings()
    return TokenVerifier(settings.auth_issuer, settings.auth_audience, settings.jwks_url(),
                         max_lifetime_seconds=settings.auth_max_token_seconds)


@lru_cache(maxsize=1)
def unit_registry() -> Any:
    """One registry per container (units and their staff), so a unit or person an administrator
    stores is seen at once by this container's other services (other containers see it within
    the registry's cache time)."""
    return staffed_units(get_settings(), dynamodb_client())


@lru_cache(maxsize=1)
def staff_service() -> StaffService:
    return build_staff_service(get_settings(), units=unit_registry())


def signed_in(authorization: str | None) -> Any:
    """The signed-in member of staff: a valid token whose `sub` is an active person in the
    directory. Their unit and roles are the directory's (Cognito's groups follow it)."""
    from chalicelib.domain.auth import Principal, Unauthenticated

    claimed = token_verifier().principal(authorization)
    member = unit_registry().staff(claimed.subject)
    if member is None:
        raise Unauthenticated("not in the staff directory")
    if not member.active:
        raise Unauthenticated("deactivated in the staff directory")
    return Principal(subject=member.staff_id, name=member.name, unit_id=member.unit_id, roles=member.roles)


@lru_cache(maxsize=1)
def organisation_service() -> OrganisationService:
    return build_organisation_service(get_settings(), units=unit_registry())


@lru_cache(maxsize=1)
def archive_service() -> ArchiveService:
    return build_archive_service(get_settings(), units=unit_registry())


@lru_cache(maxsize=1)
def case_service() -> CaseService:
    return build_case_service(get_settings(), units=unit_registry())


@lru_cache(maxsize=1)
def risk_phrase_service() -> RiskPhraseService:
    return build_risk_phrase_service(get_settings())


@lru_cache(maxsize=1)
def report_service() -> ReportService:
    return build_report_service(get_settings(), units=unit_registry())


@lru_cache(maxsize=1)
def escalation_service() -> EscalationService:
    return build_escalation_service(get_settings(), units=unit_registry())


@lru_cache(maxsize=1)
def staff_writes() -> Any:
    """Staff intake and case actions per user, counted in the table (every container sees it)."""
    from chalicelib.adapters.rate_limits import DynamoRateLimit

    settings = get_settings()
    return DynamoRateLimit(dynamodb_client(), settings.table_name, settings.staff_writes_per_minute)
