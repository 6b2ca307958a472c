"""The alert lifecycle: open, join, upgrade, re-page, escalate, acknowledge, resolve; and the pages it sends.

Driven by the table stream (a stored reading), by inbound red flags, by the
messaging engine (an unreachable patient) and by the minute tick
(escalations, daily digests).  Pages go out as message intents whose ids make
them idempotent: a replayed stream record or a repeated tick pages nobody twice.

The safety net (docs/clinical.md): one alert per condition; a critical reading
joining an alert last paged an hour ago or more pages again (and reopens an
acknowledged alert); every current critical reading sends the patient a
safety message (at most one per condition per 15 minutes); late readings are
history and never page; pages go to the patient's *current* care team on
every real-time channel, to the clinic's on-call list in place of a member
who has none (or of an empty team), and escalation adds escalation contacts,
then the on-call list, then calls it and marks the alert unanswered.  The
timeline names who was paged, and says so when nobody could be.

``AlertService`` is assembled from one part per kind of caller:
``alert_lifecycle`` (the stream, inbound messages), ``alert_escalation`` (the
tick), ``alert_queries`` (the API), sharing ``alert_paging``.  It depends on
the ports in ``services/ports.py`` only; the pure rules live in
``domain/alerts.py``.
"""

from __future__ import annotations

from chalicelib.domain.alerts import (
    DIGEST_HOUR,
    alert_id_for,
    describe_pages,
    legacy_patient_of_alert,
    next_digest,
    realtime,
)
from chalicelib.services.alert_escalation import AlertEscalation
from chalicelib.services.alert_lifecycle import FOLLOWS, AlertLifecycle
from chalicelib.services.alert_paging import loggable_alert_id
from chalicelib.services.alert_queries import AlertQueries

__all__ = [
    "DIGEST_HOUR",
    "FOLLOWS",
    "AlertService",
    "alert_id_for",
    "describe_pages",
    "legacy_patient_of_alert",
    "loggable_alert_id",
    "next_digest",
    "realtime",
]


class AlertService(AlertLifecycle, AlertEscalation, AlertQueries):
    """Every alert use case, constructed as ``AlertService(alerts, readings, patients, clinicians, events,
    messaging, audit, cursors, clock, link_base)`` over the ports of ``services/ports.py``."""
