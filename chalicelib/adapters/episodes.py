"""DynamoDB side of episodes: each episode an item, the current one summarised on the profile.

==========================  ==============================================  =========================
item                        pk / sk                                          notes
==========================  ==============================================  =========================
episode                     PATIENT#<pid> / EPISODE#<created_at>#<id>        due index while a pause
                                                                             has an end (auto-resume),
                                                                             and once discharged
                                                                             (retention)
profile's ``episode``       PATIENT#<pid> / PROFILE                          the current episode's
                                                                             summary (status, dates),
                                                                             and ``program_spans``
==========================  ==============================================  =========================

Every change writes the episode and the profile's summary in one transaction, conditional on the
profile still naming the episode the change was made from (or none, for the first), and on the
episode's ``version``: two care-team members pausing and discharging at once cannot both win, and
no second episode can open beside one that is not discharged.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.due_index import due_shard
from chalicelib.adapters.dynamo import DynamoTable
from chalicelib.adapters.keys import patient_pk
from chalicelib.adapters.timeline import event_item
from chalicelib.domain.episodes import Episode, Span, summary
from chalicelib.domain.meters import meter_attribute
from chalicelib.services.ports import TimelineEntry


def episode_sk(episode: Episode) -> str:
    return f"EPISODE#{episode.created_at}#{episode.episode_id}"


class DynamoEpisodes:
    """The ``Episodes`` port."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def of_patient(self, patient_id: str) -> list[Episode]:
        """Every stored episode, newest first."""
        items = self.table.query_all(
            "pk = :p AND begins_with(sk, :e)", {":p": patient_pk(patient_id), ":e": "EPISODE#"}, forward=False
        )
        return [Episode.model_validate(i) for i in items]

    def save(
        self,
        patient_id: str,
        episode: Episode,
        before: Episode | None,
        stored: bool,
        entry: TimelineEntry,
        spans: list[Span] | None = None,
    ) -> bool:
        """Write ``episode`` (changed from ``before``, which ``stored`` says is in the table) and its summary.

        False when the profile or the episode moved meanwhile (the caller reads again and answers 409).
        """
        item: dict[str, Any] = {
            "pk": patient_pk(patient_id),
            "sk": episode_sk(episode),
            "entity": "episode",
            "patient_id": patient_id,
            **episode.model_dump(mode="json"),
        }
        last = episode.pauses[-1] if episode.pauses else None
        if episode.status == "paused" and last is not None and last.until:
            item.update(due_shard=due_shard(f"{patient_id}:{episode.episode_id}"), due_at=last.until)
        elif episode.status == "discharged" and episode.deidentify_after:
            # Retention: the tick de-identifies the record then, unless the patient has come back.
            item.update(due_shard=due_shard(f"{patient_id}:{episode.episode_id}"), due_at=episode.deidentify_after)
        if before is not None and stored and before.episode_id == episode.episode_id:
            put = self.table.put_op(item, "#v = :v", {":v": before.version}, {"#v": "version"})
        else:
            put = self.table.put_op(item, "attribute_not_exists(pk)")
        # Never on a record being de-identified (retention): a re-enrolment that read the profile just before
        # the run began loses, rather than open an episode the run would sweep away.
        if before is None or not stored:
            # The first stored episode: the profile names none yet.
            condition = (
                "attribute_exists(pk) AND attribute_not_exists(deidentifying_since) AND attribute_not_exists(episode)"
            )
            values, names = {}, None
        else:
            condition = (
                "attribute_exists(pk) AND attribute_not_exists(deidentifying_since)"
                " AND episode.episode_id = :before AND episode.#st = :status"
            )
            values, names = {":before": before.episode_id, ":status": before.status}, {"#st": "status"}
        profile = self.table.update_op(
            {"pk": patient_pk(patient_id), "sk": "PROFILE"},
            "SET episode = :summary, program_spans = :spans",
            condition,
            {":summary": summary(episode), ":spans": spans or [], **values},
            names,
        )
        event = event_item(entry.patient_id, entry.kind, entry.at, entry.event_id, entry.summary, None, entry.ref)
        return self.table.transact_if([put, profile, self.table.put_op(event)])


class DynamoMeters:
    """The ``Meters`` port: a meter on its patient's profile, and its owner item (one patient at a time).

    ==========================  ==============================================  =========================
    meter owner                 METER#<device_id> / OWNER                        the patient it is theirs
    profile's ``meter:<id>``    PATIENT#<pid> / PROFILE                          what the stream checks
    ==========================  ==============================================  =========================
    """

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def register(self, patient_id: str, meter: dict[str, Any]) -> bool:
        """Write the meter (again, for the same patient: a retry); False when another patient holds it."""
        owner = self.table.put_op(
            {"pk": f"METER#{meter['device_id']}", "sk": "OWNER", "entity": "meter_owner", "patient_id": patient_id},
            "attribute_not_exists(pk) OR patient_id = :p",
            {":p": patient_id},
        )
        profile = self.table.update_op(
            {"pk": patient_pk(patient_id), "sk": "PROFILE"},
            "SET #m = :m",
            "attribute_exists(pk)",
            {":m": meter},
            {"#m": meter_attribute(meter["device_id"])},
        )
        return self.table.transact_if([owner, profile])

    def release(self, patient_id: str, device_ids: list[str]) -> None:
        """The patient's meters are free again (a discharge): their owner items go, and the profile forgets them.

        Each owner item goes only while it is still this patient's, so a meter registered to someone else
        meanwhile stays theirs; a retry finds nothing left to do.
        """
        for device_id in device_ids:
            delete = self.table.delete_op(
                f"METER#{device_id}", "OWNER", "attribute_not_exists(pk) OR patient_id = :p", {":p": patient_id}
            )
            forget = self.table.update_op(
                {"pk": patient_pk(patient_id), "sk": "PROFILE"},
                "REMOVE #m",
                "attribute_exists(pk)",
                names={"#m": meter_attribute(device_id)},
            )
            if not self.table.transact_if([delete, forget]):
                self.table.transact_if([forget])  # someone else's now: only this profile forgets it
