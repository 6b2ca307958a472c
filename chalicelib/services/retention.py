"""Retention: the records of a patient discharged longer ago than the retention period are de-identified.

A discharge puts the episode on the due index at its ``deidentify_after`` (the discharge plus
``retention_years``).  When the tick reaches it and the patient has not been re-enrolled since, a run
begins: its state item holds an opaque subject id and sits on the due index, so a run that stops (a crash,
a timeout, a patient with a hundred thousand readings) goes on at the next tick.  Each step takes the run
(one winner a tick), sweeps up to ``budget`` items of the partition (``chalicelib/domain/retention.py``:
readings kept under the subject, everything else removed) and is audited; the last step removes what names
the patient outside the partition, their sign-in and, last, the profile and the run with the subject id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.domain import retention as rules
from chalicelib.domain.identity import Principal, Role
from chalicelib.domain.timeutil import iso
from chalicelib.observability import count
from chalicelib.services.ports import Audit, Record

# A step's hold on its run: another tick leaves it alone meanwhile (a step takes seconds).
LEASE = timedelta(minutes=5)
PAGE = 200
BUDGET = 2000


class RetentionStore(Protocol):
    def profile(self, patient_id: str) -> Record | None: ...

    def begin(self, patient_id: str, episode: Record, subject: str, now: datetime, lease: datetime) -> bool: ...

    def drop(self, patient_id: str, episode: Record) -> None: ...

    def claim(self, patient_id: str, due_at: str, lease: datetime) -> bool: ...

    def page(self, patient_id: str, limit: int) -> list[Record]: ...

    def sweep(self, subject: str, items: list[Record]) -> tuple[int, int]: ...

    def advance(self, patient_id: str, moved: int, deleted: int, due_at: datetime) -> None: ...

    def release_outside(self, patient_id: str, profile: Record) -> None: ...

    def end(self, patient_id: str) -> None: ...


class PatientAccounts(Protocol):
    def forget(self, patient_id: str) -> None: ...


class RetentionService:
    def __init__(
        self,
        store: RetentionStore,
        accounts: PatientAccounts,
        audit: Audit,
        new_id: Callable[[str], str],
        page: int = PAGE,
        budget: int = BUDGET,
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._audit = audit
        self._new_id = new_id
        self._page = max(page, len(rules.LAST) + 1)  # a page of only the profile and the run would stop a run
        self._budget = budget

    def episode_due(self, episode: Record, now: datetime) -> None:
        """The tick: a discharged episode's period is over.  De-identify, unless the patient came back."""
        pid = episode["patient_id"]
        profile = self._store.profile(pid)
        if profile is None or not rules.still_discharged(profile.get("episode"), episode):
            self._store.drop(pid, episode)  # re-enrolled since: their next discharge starts the period again
            return
        if not rules.due(episode, now):
            return  # handed over early (a clock behind the index's): it stays due, for a later tick
        subject = self._new_id("s")
        if not self._store.begin(pid, episode, subject, now, now + LEASE):
            return  # another worker began it, or the episode changed meanwhile
        self._audit.record(
            _job(now),
            "deidentify",
            "patient",
            pid,
            {"step": "begun", "episode_id": episode["episode_id"], "discharged_on": episode.get("discharged_on")},
        )
        count("RetentionRunsBegun")
        self._step(pid, subject, {"moved": 0, "deleted": 0}, now)

    def run_due(self, run: Record, now: datetime) -> None:
        """The tick: a run is due again (the last step stopped at its budget, or stopped on a failure)."""
        if not self._store.claim(run["patient_id"], run["due_at"], now + LEASE):
            return
        self._step(run["patient_id"], run["subject"], run, now)

    def _step(self, pid: str, subject: str, totals: Record, now: datetime) -> None:
        moved = deleted = 0
        while moved + deleted < self._budget:
            # What a sweep removed is gone, so each Query starts where the last one stopped.
            items = self._store.page(pid, self._page)
            if not items:
                break  # only the profile and the run are left
            m, d = self._store.sweep(subject, items)
            moved, deleted = moved + m, deleted + d
        else:
            self._store.advance(pid, moved, deleted, now)  # due now: the next tick goes on
            self._audit.record(_job(now), "deidentify", "patient", pid, {"step": "swept", **_counts(moved, deleted)})
            return
        profile = self._store.profile(pid)
        if profile is not None:
            self._store.release_outside(pid, profile)
            deleted += 1  # the profile, removed last
        self._accounts.forget(pid)
        total_moved = int(totals.get("moved") or 0) + moved
        total_deleted = int(totals.get("deleted") or 0) + deleted
        # Audited before the last write: a failure after it repeats the step (and the record), never skips it.
        self._audit.record(
            _job(now), "deidentify", "patient", pid, {"step": "finished", **_counts(total_moved, total_deleted)}
        )
        self._store.end(pid)
        count("RetentionRunsFinished")


def _counts(moved: int, deleted: int) -> dict[str, Any]:
    """What a step did to the partition: readings moved under the subject, and its other items removed."""
    return {"readings_kept": moved, "items_removed": deleted}


def _job(now: datetime) -> Principal:
    return Principal("retention", Role.ADMIN, request_id=f"retention-{iso(now)}")
