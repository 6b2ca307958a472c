"""The console shows delivery truth: an address a provider reported gone, on the worklist and the patient page.

A clinician's message goes out through the real engine (SES on moto server); SES's documented bounce for
it reaches the app's own delivery-events handler; then the pages are read as the clinician sees them.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

from tests.integration.conftest import Api, patient_body
from tests.integration.console_client import Console, text


def _daytime_zone() -> str:
    """A zone where it is about noon now, so the message is outside the default quiet hours (21:00-08:00)."""
    offset = 12 - datetime.now(UTC).hour  # hours east of UTC
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'+' if offset < 0 else '-'}{abs(offset)}"


def test_a_bounced_address_is_flagged_on_the_worklist_and_the_patient_page(
    api: Api, clinic: dict[str, Any], stream_runner: Any, issuer: Any, moto_url: str
) -> None:
    from chalicelib import bootstrap
    from chalicelib.jobs.delivery import handle_notification
    from devstack.delivery_events import ses_event
    from devstack.local_routes import outbox_entries

    cid = f"c-dl-{uuid.uuid4().hex[:8]}"
    assert (
        api.call(
            "PUT", f"/clinicians/{cid}", {"given_name": "Nora", "phone": "+15551239004"}, as_=clinic["admin"]
        ).status_code
        == 200
    )
    pid, email = f"p-dl-{uuid.uuid4().hex[:8]}", f"bounce-{uuid.uuid4().hex[:6]}@example.org"
    sent = patient_body(
        pid, care_team=[cid], email=email, channels=["email", "sms"], timezone=_daytime_zone(), language="en"
    )
    assert api.call("POST", "/patients", sent, as_=clinic["admin"]).status_code == 201
    for channel in ("email", "sms"):
        api.call("PUT", f"/patients/{pid}/consents/{channel}", {"granted": True}, as_=("patient", pid))
    assert (
        api.call(
            "POST", f"/patients/{pid}/messages", {"text": "Hello from the clinic"}, as_=("clinician", cid)
        ).status_code
        == 202
    )
    stream_runner.drain()
    with urllib.request.urlopen(f"{moto_url}/moto-api/data.json", timeout=30) as response:  # nosec B310
        (mail,) = outbox_entries(json.loads(response.read()), email)

    at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    assert handle_notification(
        bootstrap.container().delivery, json.dumps(ses_event(mail["message_id"], email, "bounce", at))
    ) == ["settled"]
    stream_runner.drain()

    console = Console(api.client, issuer, "clinician", cid)
    worklist = text(console.get("/console"))
    assert '<span class="flag warn">email unreachable</span>' in worklist
    page = text(console.get(f"/console/patients/{pid}"))
    assert "address unreachable: nothing goes there until it changes" in page
    assert "by email bounced: Permanent bounce" in page  # the timeline; the message itself went again by SMS
    assert email not in worklist  # the flag names the channel, not the address
