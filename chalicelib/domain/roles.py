"""The staff roles and the groups of them that the access rules speak of (rulebook §4: tiered
responsibility). Kept apart from `auth` so the case actions can name their roles."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"                          # works the cases of their unit
    UNIT_MANAGER = "unit-manager"            # also approves extensions, acknowledges escalations
    BRANCH_SUPERVISOR = "branch-supervisor"  # every unit below the branch; spot checks
    AUDITOR = "auditor"                      # archive retrieval and legal holds; reads elsewhere
    ADMIN = "admin"                          # organisation, staff and calendars
    REGIONAL_SPECIALIST = "regional-specialist"  # told of media and regulator cases at once (rulebook §2)


R = Role
CASE_WORKERS = frozenset({R.AGENT, R.UNIT_MANAGER, R.BRANCH_SUPERVISOR})
MANAGERS = frozenset({R.UNIT_MANAGER, R.BRANCH_SUPERVISOR})
READERS = CASE_WORKERS | {R.AUDITOR}
AUDITORS = frozenset({R.AUDITOR})
SUPERVISORS = frozenset({R.BRANCH_SUPERVISOR})  # spot checks (rulebook §6: the branch verifies)
ADMINS = frozenset({R.ADMIN})
