"""Who is calling, and what they may see.

The scope rules of the API contract live here as pure functions so they can be
tested without a token or a table: a patient sees only themselves, a clinician
the patients whose care team includes them, an admin everything.  A patient
outside the caller's scope is reported exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from chalicelib.domain.errors import ForbiddenError


class Role(StrEnum):
    PATIENT = "patient"
    CLINICIAN = "clinician"
    ADMIN = "admin"


# Cognito group name -> role, most privileged first so a user in several
# groups acts with the highest role the pool granted.
GROUP_ROLES: tuple[tuple[str, Role], ...] = (
    ("admins", Role.ADMIN),
    ("clinicians", Role.CLINICIAN),
    ("patients", Role.PATIENT),
)


def role_from_groups(groups: Iterable[str]) -> Role | None:
    present = set(groups)
    for group, role in GROUP_ROLES:
        if group in present:
            return role
    return None


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    # The API request (or job invocation) acting; carried into the audit trail.
    request_id: str = ""
    # Where the request came from, for the audit trail (F5): the token's app client, the caller's
    # IP as API Gateway saw it and its user agent (truncated).  Empty for jobs.
    client_id: str = ""
    source_ip: str = ""
    user_agent: str = ""

    @property
    def is_patient(self) -> bool:
        return self.role is Role.PATIENT

    @property
    def is_clinician(self) -> bool:
        return self.role is Role.CLINICIAN

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise ForbiddenError(f"The {self.role.value} role may not do this.")


def can_see_patient(principal: Principal, patient_id: str, care_team: Iterable[str]) -> bool:
    if principal.is_admin:
        return True
    if principal.is_patient:
        return principal.subject == patient_id
    return principal.subject in set(care_team)


def is_care_team(principal: Principal, care_team: Iterable[str]) -> bool:
    """Admins act as care team for every patient; clinicians only for their panel."""
    return principal.is_admin or (principal.is_clinician and principal.subject in set(care_team))
