"""Case numbers customers can read out on the phone: CD-XXXX-XXXX-XXXX."""

from __future__ import annotations

import re
import secrets

_LETTERS = "ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32 letters: no I, L, O, U
_ALPHABET = _LETTERS + "0123456789"
CASE_ID_PATTERN = re.compile(r"^CD(-[A-Z][A-Z0-9]{3}){3}$")


def new_case_id() -> str:
    """Each group starts with a letter so a case number never looks like a phone number."""
    groups = [secrets.choice(_LETTERS) + "".join(secrets.choice(_ALPHABET) for _ in range(3))
              for _ in range(3)]
    return "CD-" + "-".join(groups)


def is_case_id(value: str) -> bool:
    return bool(CASE_ID_PATTERN.match(value))
