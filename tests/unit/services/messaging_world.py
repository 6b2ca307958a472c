"""The messaging service on the in-memory fakes of its ports, with a patient and clinicians to reach."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.delivery import SendError
from chalicelib.domain.messages import Intent, Recipient
from chalicelib.services.delivery import DeliveryService
from chalicelib.services.messaging import MessagingService
from chalicelib.services.ports import Record
from tests.fakes import (
    FakeChannel,
    FakeClinicianProfiles,
    FakeClock,
    FakeMessagingPatients,
    FakeMessagingStore,
    FakeOutboundQueue,
    FakeReceipts,
    FakeTimeline,
)
from tests.fakes.appointments import FakeAppointmentStore

CLINIC = {"clinic": "Northside Clinic", "support": "+15550000000"}
PHONE = "+15551230000"
# 14:00 in New York: outside the default quiet hours (21:00-08:00).
DAYTIME = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
# 23:00 in New York: inside them.
NIGHT = datetime(2026, 3, 3, 4, 0, tzinfo=UTC)


def permanent(code: str = "InvalidParameter") -> SendError:
    return SendError(code, transient=False)


def transient(code: str = "Throttling") -> SendError:
    return SendError(code, transient=True)


@dataclass
class MessagingWorld:
    clock: FakeClock = field(default_factory=lambda: FakeClock(DAYTIME))
    timeline: FakeTimeline = field(default_factory=FakeTimeline)
    patients: FakeMessagingPatients = field(default_factory=FakeMessagingPatients)
    clinicians: FakeClinicianProfiles = field(default_factory=FakeClinicianProfiles)
    outbound: FakeOutboundQueue = field(default_factory=FakeOutboundQueue)
    events: list[Any] = field(default_factory=list)
    daily_cap: int = 20
    channel_names: tuple[str, ...] = ("push", "sms", "email", "voice")
    appointments: FakeAppointmentStore = field(default_factory=FakeAppointmentStore)

    def __post_init__(self) -> None:
        self.store = FakeMessagingStore(self.patients, self.timeline)
        self.channels = {name: FakeChannel(name) for name in self.channel_names}
        self._ids = itertools.count(1)
        self.service = MessagingService(
            self.store,
            self.patients,
            self.clinicians,
            self.outbound,
            dict(self.channels),
            self.clock,
            CLINIC,
            self.events.append,
            daily_cap=self.daily_cap,
            appointments=self.appointments,
        )
        self.receipts = FakeReceipts(self.store, self.clinicians)
        self.delivery = DeliveryService(self.receipts, self.service, self.clinicians, self.clock)

    # -- arranging -----------------------------------------------------------------------------

    def patient(
        self,
        pid: str = "p-1",
        channels: tuple[str, ...] = ("sms", "email"),
        consented: tuple[str, ...] = ("sms", "email", "push"),
        opted_out: tuple[str, ...] = (),
        phone: str = PHONE,
        device: bool = False,
    ) -> str:
        self.patients.put(
            {
                "patient_id": pid,
                "given_name": "Ana",
                "phone": phone,
                "email": f"{pid}@example.com",
                "timezone": "America/New_York",
                "language": "en",
                "channels": list(channels),
            }
        )
        for channel in consented:
            self.patients.put_consent(pid, {"channel": channel, "granted": True})
        for channel in opted_out:
            self.patients.put_consent(pid, {"channel": channel, "granted": False, "opted_out": True})
        if device:
            self.patients.put_device(pid, {"endpoint_arn": f"arn:push:{pid}", "created_at": "2026-01-01"}, pid)
        return pid

    def clinician(self, cid: str = "c-1", channels: tuple[str, ...] = ("sms",)) -> str:
        self.clinicians.put(
            {
                "clinician_id": cid,
                "given_name": "Dr",
                "phone": "+15559870000",
                "email": f"{cid}@clinic.example",
                "channels": list(channels),
            }
        )
        return cid

    def fail(self, channel: str, *errors: SendError, always: SendError | None = None) -> None:
        self.channels[channel].failures.extend(errors)
        self.channels[channel].always = always

    def intent(
        self, template: str = "reminder_measure", to: str = "p-1", kind: str = "patient", **extra: Any
    ) -> Intent:
        return Intent(
            intent_id=f"i-{next(self._ids)}",
            recipient=Recipient(kind=kind, id=to),  # type: ignore[arg-type]
            template=template,
            created_at=self.clock(),
            patient_id=to if kind == "patient" else extra.pop("patient_id", None),
            **extra,
        )

    # -- looking ---------------------------------------------------------------------------------

    def receipt_of(self, channel: str, n: int = 1) -> Record:
        """The receipt of the ``n``-th message the fake ``channel`` sent (its provider id is ``<channel>-<n>``)."""
        found = self.receipts.receipt(channel, f"{channel}-{n}")
        assert found is not None, f"no receipt for {channel}-{n}"
        return found

    def sent_by(self) -> dict[str, int]:
        return {name: len(ch.sent) for name, ch in self.channels.items() if ch.sent}

    def kinds(self, pid: str = "p-1") -> list[str]:
        return [e["kind"] for e in self.timeline.of(pid)]
