"""The providers' documented delivery events, built for a message the emulators took (``/_local/delivery-event``).

moto sends nothing on and reports nothing back, so the local stage makes the event a provider would
publish for the latest message to a recipient, in the documented shape, and hands it to the app's own
handler: an SES event record (event publishing through SNS), an SNS SMS delivery status log record
(through a CloudWatch Logs subscription), or a push platform application's ``DeliveryFailure`` event.
"""

from __future__ import annotations

from typing import Any, Literal

Outcome = Literal["delivered", "bounce", "complaint", "failed"]
SOURCE = "clinic@example.org"


def ses_event(message_id: str, to: str, outcome: Outcome, at: str) -> dict[str, Any]:
    """An SES event record: Delivery, a permanent Bounce, a Complaint, or a transient Bounce ("failed")."""
    mail = {
        "timestamp": at,
        "source": SOURCE,
        "sendingAccountId": "000000000000",
        "messageId": message_id,
        "destination": [to],
        "headersTruncated": False,
        "tags": {"ses:configuration-set": ["carewire-local"]},
    }
    if outcome == "delivered":
        detail = {"timestamp": at, "processingTimeMillis": 420, "recipients": [to], "smtpResponse": "250 2.6.0 ok"}
        return {"eventType": "Delivery", "mail": mail, "delivery": detail}
    if outcome == "complaint":
        complaint = {
            "complainedRecipients": [{"emailAddress": to}],
            "timestamp": at,
            "feedbackId": f"local-{message_id}",
            "complaintFeedbackType": "abuse",
        }
        return {"eventType": "Complaint", "mail": mail, "complaint": complaint}
    permanent = outcome == "bounce"
    bounce = {
        "bounceType": "Permanent" if permanent else "Transient",
        "bounceSubType": "General" if permanent else "MailboxFull",
        "bouncedRecipients": [
            {
                "emailAddress": to,
                "action": "failed",
                "status": "5.1.1" if permanent else "4.2.2",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown" if permanent else "smtp; 452 4.2.2 mailbox full",
            }
        ],
        "timestamp": at,
        "feedbackId": f"local-{message_id}",
    }
    return {"eventType": "Bounce", "mail": mail, "bounce": bounce}


# What a carrier says, in SNS's words: a number that is gone ("bounce") or a failure of the day ("failed").
_SMS_WORDS = {
    "delivered": ("SUCCESS", "Message has been accepted by phone carrier"),
    "bounce": ("FAILURE", "Invalid phone number"),
    "failed": ("FAILURE", "Unknown error attempting to reach phone"),
}


def sms_log_record(message_id: str, to: str, outcome: Outcome, at: str) -> dict[str, Any]:
    """An SNS SMS delivery status log record (there is no complaint for a text)."""
    status, words = _SMS_WORDS[outcome]
    return {
        "notification": {"messageId": message_id, "timestamp": at.replace("T", " ").rstrip("Z")},
        "delivery": {
            "destination": to,
            "smsType": "Transactional",
            "providerResponse": words,
            "dwellTimeMs": 600,
            "priceInUSD": 0.00645,
        },
        "status": status,
    }


def push_failure(message_id: str, endpoint: str, at: str) -> dict[str, Any]:
    """A platform application's DeliveryFailure event: SNS reports only permanent push failures."""
    application = endpoint.replace(":endpoint/", ":app/").rsplit("/", 1)[0]
    return {
        "DeliveryAttempts": 1,
        "EndpointArn": endpoint,
        "EventType": "DeliveryFailure",
        "FailureMessage": "Endpoint is disabled",
        "FailureType": "EndpointDisabled",
        "MessageId": message_id,
        "Resource": application,
        "Service": "SNS",
        "Time": at,
    }
