"""Mobile push endpoints: SNS platform applications (APNs, FCM)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.domain.errors import InvalidInputError


class SnsPushRegistry:
    def __init__(self, sns: Any, platform_arns: dict[str, str | None]) -> None:
        self._sns = sns
        self._platform_arns = platform_arns

    def register(self, platform: str, token: str, owner: str) -> str:
        """Create (or find) the SNS endpoint for a device token; return its ARN."""
        arn = self._platform_arns.get(platform)
        if not arn:
            raise InvalidInputError(f"Push platform {platform} is not configured for this clinic.")
        try:
            # CustomUserData carries the owner's id (never PHI) so operators can tell endpoints apart.
            response = self._sns.create_platform_endpoint(PlatformApplicationArn=arn, Token=token, CustomUserData=owner)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "InvalidParameter":
                raise InvalidInputError("The device token was rejected by the push service.") from error
            raise
        return str(response["EndpointArn"])
