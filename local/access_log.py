"""The local server's access log without secrets: tracking tokens in paths, sign-in codes and
tokens in query strings, and anything shaped like a bearer token or JWT are masked before the
line is written (the status page promises the token stays private; staff tokens are keys)."""

from __future__ import annotations

import re
from typing import Any

_TRACK_PATH = re.compile(r"(/public/track/)[^\s?#\"]+")
_SECRET_PARAMS = re.compile(r"([?&](?:token|id_token|access_token|refresh_token|code|state|api_key|key)=)[^&\s#\"]+",
                            re.IGNORECASE)
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
MASK = "***"


def mask_secrets(line: str) -> str:
    """The line as it may be written: every secret replaced by `***`."""
    line = _TRACK_PATH.sub(rf"\g<1>{MASK}", line)
    line = _SECRET_PARAMS.sub(rf"\g<1>{MASK}", line)
    line = _BEARER.sub(rf"\g<1>{MASK}", line)
    return _JWT.sub(MASK, line)


def install(handler_class: Any) -> None:
    """Make a BaseHTTPRequestHandler subclass write masked lines (its requests and its errors)."""
    write = handler_class.log_message

    def log_message(self: Any, format: str, *args: Any) -> None:
        write(self, "%s", mask_secrets(format % args))

    handler_class.log_message = log_message
