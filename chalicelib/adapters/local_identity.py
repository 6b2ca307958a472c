"""Local stage only: mint real tokens from the emulated Cognito user pool.

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
    def __init__(self, cognito: Any, user_pool_id: str, client_id: str) -> None:
        self._cognito = cognito
        self._pool = user_pool_id
        self._client = client_id

    def token(self, role: str, subject: str) -> str:
        password = "Cw1!" + secrets.token_urlsafe(18)
        try:
            self._cognito.admin_create_user(
                UserPoolId=self._pool, Username=subject, TemporaryPassword=password, MessageAction="SUPPRESS"
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "UsernameExistsException":
                raise
        self._cognito.admin_set_user_password(
            UserPoolId=self._pool, Username=subject, Password=password, Permanent=True
        )
        self._cognito.admin_add_user_to_group(UserPoolId=self._pool, Username=subject, GroupName=GROUP_OF_ROLE[role])
        result = self._cognito.admin_initiate_auth(
            UserPoolId=self._pool,
            ClientId=self._client,
            AuthFlow="ADMIN_NO_SRP_AUTH",
            AuthParameters={"USERNAME": subject, "PASSWORD": password},
        )
        return str(result["AuthenticationResult"]["AccessToken"])
