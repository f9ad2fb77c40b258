"""Logger and metrics shared by every handler; phone numbers never reach a log line."""

from __future__ import annotations

import logging
import re

from aws_lambda_powertools import Logger, Metrics

SERVICE = "complaint-desk"
# Runs of 7+ digits, optionally broken by spaces, dashes, dots or brackets, as phone numbers are;
# an ISO 8601 date or time (not followed by another digit), or a UUID (a staff id), is matched
# first and kept as it is.
_PHONE_LIKE = re.compile(r"(?P<iso>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?!\d)"
                         r"|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b)"
                         r"|\+?\d(?:[\s\-.()]*\d){6,}")


# A person's name as it appears in a dict's repr or in JSON (`'name': 'Wang Fang'`, `"name":"…"`):
# the service never logs one on purpose, but an exception's text may quote a customer record.
_NAME_VALUE = re.compile(r"""(["'](?:name|customer_name)["']\s*:\s*)(["'])(?:(?!\2).)*\2""")


def mask_phone_numbers(text: str) -> str:
    """Keep only the last two digits of anything that looks like a phone number, and hide names
    quoted as a record's `name` field."""
    text = _NAME_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}***{m.group(2)}", text)
    return _PHONE_LIKE.sub(lambda m: m.group() if m.group("iso") else "*" * 6 + re.sub(r"\D", "", m.group())[-2:],
                           text)


class MaskingFormatterFilter(logging.Filter):
    """Masks the rendered record, extra keys and traceback included, just before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_phone_numbers(record.getMessage())
            record.args = None
        if record.exc_info:
            # An exception's text can carry customer input (pydantic errors quote it): render it
            # now, masked, and drop the raw exception so no formatter renders it again. Powertools'
            # JSON formatter reads only exc_info, so the masked text also goes in as its own
            # `exception` / `exception_name` keys (without them a 500's line had no traceback).
            masked = mask_phone_numbers(logging.Formatter().formatException(record.exc_info))
            record.exc_text = masked
            record.__dict__["exception"] = masked
            record.__dict__["exception_name"] = getattr(record.exc_info[0], "__name__", "unknown")
            record.exc_info = None
        for key, value in list(record.__dict__.items()):
            if isinstance(value, str) and key not in ("msg", "levelname", "name", "pathname",
                                                      "filename", "module", "funcName",
                                                      "processName", "threadName"):
                record.__dict__[key] = mask_phone_numbers(value)
        return True


logger = Logger(service=SERVICE)
logger.registered_handler.addFilter(MaskingFormatterFilter())


def mask_logger(other: logging.Logger) -> None:
    """Give another logger (Chalice's own, which logs unhandled errors) the same masking."""
    other.addFilter(MaskingFormatterFilter())
metrics = Metrics(namespace="ComplaintDesk", service=SERVICE)


def count(name: str, value: int = 1, **dimensions: str) -> None:
    """One EMF metric line (CloudWatch reads it from the log; no API call, no cold-start cost)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace="ComplaintDesk") as metric:
        metric.add_dimension(name="service", value=SERVICE)
        for key, value_ in dimensions.items():
            metric.add_dimension(name=key, value=value_)
