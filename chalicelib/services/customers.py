"""Repeat complainants: files each new case under its customer's keyed hash, and answers "what
else has this customer brought us" for a reader, within what the reader may see."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.domain.customers import EarlierCase, customer_key
from chalicelib.domain.models import Case
from chalicelib.services.ports import CustomerLinks, FiledUnderCustomer, Units


class CustomerHistory:
    def __init__(self, links: CustomerLinks, secret: Callable[[], bytes], units: Units) -> None:
        """`secret()` gives the HMAC key (the stage's customer key), read when a case is first linked,
        so a function that links no case never needs it; a new key starts the index afresh."""
        self._links = links
        self._secret = secret
        self._units = units

    def key(self, case: Case) -> str:
        """The customer's key, with the phone read in the country of the unit that registered the
        case (a forwarded case keeps the key it was filed under)."""
        first_unit = case.forwarded_from[0] if case.forwarded_from else case.unit_id
        unit = self._units.get(first_unit) or self._units.get(case.unit_id)
        return customer_key(case.customer.phone, unit.calendar if unit else "CN", self._secret())

    def link_items(self, case: Case, expires_at: datetime | None = None) -> list[FiledUnderCustomer]:
        """What the intake's transaction writes so later cases find this one; the archive's writes
        it again with the date it may go (a case registered before the index existed gets it then)."""
        return [FiledUnderCustomer(self.key(case), case.case_id, case.unit_id, case.type, case.received_at,
                                   expires_at)]

    def earlier(self, case: Case, visible: Callable[[str], bool]) -> list[EarlierCase]:
        """The customer's cases received before this one whose unit (now) is one `visible` allows,
        newest first: id, date, type, status."""
        links = [link for link in self._links.cases_of(self.key(case))
                 if link.case_id != case.case_id and link.received_at <= case.received_at]
        if not links:
            return []
        now = self._links.current(link.case_id for link in links)
        found = []
        for link in links:
            status, unit_id = now.get(link.case_id, ("archived", link.unit_id))
            if visible(unit_id):
                found.append(EarlierCase(case_id=link.case_id, received_at=link.received_at, type=link.type,
                                         status=status, unit_id=unit_id))
        return found
