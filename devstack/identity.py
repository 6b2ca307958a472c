"""The local stage's sign-in: real tokens minted from the emulated Cognito user pools.

Creates the user and its group membership on first use, then signs in with a
fresh random password, so the token is issued by the pool exactly as a real
sign-in would be and goes through the same verification as in AWS.
"""

from __future__ import annotations

import secrets
from typing import Any

from botocore.exceptions import ClientError

GROUP_OF_ROLE = {"patient": "patients", "clinician": "clinicians", "admin": "admins"}


class CognitoLocalIssuer:
    """Tokens from the pool a role signs in to: ``staff`` (pool id, client id) for clinicians and admins."""

    def __init__(self, cognito: Any, user_pool_id: str, client_id: str, staff: tuple[str, str] | None = None) -> None:
        self._cognito = cognito
        self._pools = {"patient": (user_pool_id, client_id)}
        self._staff = staff or (user_pool_id, client_id)

    @classmethod
    def for_settings(cls, cognito: Any, settings: Any) -> CognitoLocalIssuer:
        """The stage's own pools, as the app trusts them (``Settings``)."""
        staff = None
        if settings.staff_user_pool_id:
            staff = (settings.staff_user_pool_id, settings.staff_app_client_ids[0])
        return cls(cognito, settings.user_pool_id, settings.app_client_ids[0], staff)

    def token(self, role: str, subject: str) -> str:
        return str(self.sign_in(role, subject)["AccessToken"])

    def sign_in(self, role: str, subject: str) -> dict[str, Any]:
        """Cognito's ``AuthenticationResult`` (access, id and refresh tokens) for ``subject`` in ``role``."""
        pool, client = self._pools.get(role, self._staff)
        password = "Cw1!" + secrets.token_urlsafe(18)
        try:
            self._cognito.admin_create_user(
                UserPoolId=pool, Username=subject, TemporaryPassword=password, MessageAction="SUPPRESS"
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "UsernameExistsException":
                raise
        self._cognito.admin_set_user_password(UserPoolId=pool, Username=subject, Password=password, Permanent=True)
        self._cognito.admin_add_user_to_group(UserPoolId=pool, Username=subject, GroupName=GROUP_OF_ROLE[role])
        result = self._cognito.admin_initiate_auth(
            UserPoolId=pool,
            ClientId=client,
            AuthFlow="ADMIN_NO_SRP_AUTH",
            AuthParameters={"USERNAME": subject, "PASSWORD": password},
        )
        return dict(result["AuthenticationResult"])
