"""The channels a message can leave by, behind one small port.

Each adapter sends one rendered message to one address and either returns a
provider message id or raises :class:`SendError`, telling a transient failure
(throttling, 5xx: retried by botocore first, then by the queue) from a
permanent one (opted out, invalid endpoint, rejected: fall back to the next
channel).  Voice uses AWS End User Messaging (``pinpoint-sms-voice-v2``), the
successor of Pinpoint's voice API; Pinpoint endpoints and journeys are not used.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.delivery import SendError as SendError  # re-exported: the old import path stays
from chalicelib.domain.messages import Rendered

TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "KMSThrottlingException",
        "RequestTimeout",
    }
)


def _classify(error: Exception) -> SendError:
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", "Unknown"))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
        return SendError(code, code in TRANSIENT_CODES or status >= 500)
    return SendError(type(error).__name__, True)  # connection errors and the like


class Channel(Protocol):
    name: str

    def send(self, address: str, message: Rendered) -> str: ...


class SnsSmsChannel:
    name = "sms"

    def __init__(self, sns: Any, origination_number: str | None = None, sender_id: str | None = None) -> None:
        self._sns = sns
        self._attributes: dict[str, Any] = {
            "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}
        }
        if origination_number:
            self._attributes["AWS.MM.SMS.OriginationNumber"] = {"DataType": "String", "StringValue": origination_number}
        if sender_id:
            self._attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": sender_id}

    def send(self, address: str, message: Rendered) -> str:
        try:
            response = self._sns.publish(PhoneNumber=address, Message=message.text, MessageAttributes=self._attributes)
        except (ClientError, BotoCoreError) as error:
            raise _classify(error) from error
        return str(response["MessageId"])


class SesEmailChannel:
    name = "email"

    def __init__(self, ses: Any, sender: str, configuration_set: str | None = None) -> None:
        self._ses = ses
        self._sender = sender
        self._configuration_set = configuration_set

    def send(self, address: str, message: Rendered) -> str:
        body: dict[str, Any] = {"Text": {"Data": message.text, "Charset": "UTF-8"}}
        if message.html:
            body["Html"] = {"Data": message.html, "Charset": "UTF-8"}
        kwargs: dict[str, Any] = {
            "FromEmailAddress": self._sender,
            "Destination": {"ToAddresses": [address]},
            "Content": {"Simple": {"Subject": {"Data": message.subject or "", "Charset": "UTF-8"}, "Body": body}},
        }
        if self._configuration_set:
            kwargs["ConfigurationSetName"] = self._configuration_set
        try:
            response = self._ses.send_email(**kwargs)
        except (ClientError, BotoCoreError) as error:
            raise _classify(error) from error
        return str(response["MessageId"])


class SnsPushChannel:
    """Mobile push through SNS platform endpoints (APNs, FCM); the address is the endpoint ARN."""

    name = "push"

    def __init__(self, sns: Any) -> None:
        self._sns = sns

    def send(self, address: str, message: Rendered) -> str:
        apns = {"aps": {"alert": {"title": message.subject or "", "body": message.text}}}
        fcm = {"notification": {"title": message.subject or "", "body": message.text}}
        payload = {"default": message.text, "APNS": json.dumps(apns), "GCM": json.dumps(fcm)}
        try:
            response = self._sns.publish(TargetArn=address, Message=json.dumps(payload), MessageStructure="json")
        except (ClientError, BotoCoreError) as error:
            raise _classify(error) from error
        return str(response["MessageId"])


class VoiceChannel:
    """A spoken message via AWS End User Messaging SMS and voice v2 (``SendVoiceMessage``)."""

    name = "voice"

    def __init__(self, sms_voice: Any, origination_identity: str, voice_id: str = "JOANNA") -> None:
        self._client = sms_voice
        self._origination = origination_identity
        self._voice_id = voice_id

    def send(self, address: str, message: Rendered) -> str:
        try:
            response = self._client.send_voice_message(
                DestinationPhoneNumber=address,
                OriginationIdentity=self._origination,
                MessageBody=message.text,
                MessageBodyTextType="TEXT",
                VoiceId=self._voice_id,
            )
        except (ClientError, BotoCoreError) as error:
            raise _classify(error) from error
        return str(response["MessageId"])
