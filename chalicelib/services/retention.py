"""Retention: the records of a patient discharged longer ago than the retention period are de-identified.

A discharge puts the episode on the due index at its ``deidentify_after`` (the discharge plus
``retention_years``).  When the tick reaches it and the patient has not been re-enrolled since, a run
begins: its state item sits on the due index, so a run that stops (a crash, a timeout, a patient with a
hundred thousand readings) goes on at the next tick, and its subject item holds the opaque subject id.
Each step takes the run (one winner a tick) and sweeps about ``budget`` items of the partition
(``chalicelib/domain/retention.py``: readings kept under the subject, everything else removed, devices'
push endpoints deleted first).  When the sweep finds nothing left, the profile goes with what it names
outside the partition and the patient's sign-in, and the run waits a day (``SETTLE``): a writer that read
the profile before the run began (a reading's stream record, a message in flight, a cached profile) has
landed by then, and a last sweep takes what it wrote before the run and its subject go.  Every step is
audited as the patient's; the subject id never is.
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
# From the end of the sweep to the last one: longer than a stream record lives (24 hours), a cached
# profile (a minute) or a message's retries (minutes).
SETTLE = timedelta(hours=25)
PAGE = 200
# Items a step sweeps: a due-work message holds up to ten due items within the function's 60 s, and a step of
# 2,000 took 7 s on DynamoDB Local (bench/README.md "Results: retention").
BUDGET = 1000


class RetentionStore(Protocol):
    def profile(self, patient_id: str) -> Record | None: ...

    def begin(self, patient_id: str, episode: Record, subject: str, now: datetime, lease: datetime) -> bool: ...

    def subject(self, patient_id: str) -> str | None: ...

    def drop(self, patient_id: str, episode: Record) -> None: ...

    def claim(self, patient_id: str, due_at: str, lease: datetime) -> bool: ...

    def page(self, patient_id: str, limit: int) -> list[Record]: ...

    def sweep(self, subject: str, items: list[Record]) -> tuple[int, int]: ...

    def advance(
        self, patient_id: str, moved: int, deleted: int, due_at: datetime, phase: str | None = None
    ) -> None: ...

    def release_outside(self, patient_id: str, profile: Record) -> None: ...

    def forget_profile(self, patient_id: str) -> None: ...

    def end(self, patient_id: str) -> None: ...


class PatientAccounts(Protocol):
    def forget(self, patient_id: str) -> None: ...

    def forget_devices(self, endpoint_arns: list[str]) -> None: ...


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
        self._step(pid, subject, {"moved": 0, "deleted": 0, "phase": "sweeping"}, now)

    def run_due(self, run: Record, now: datetime) -> None:
        """The tick: a run is due again (a step stopped at its budget or on a failure, or it is time to settle)."""
        pid = run["patient_id"]
        if not self._store.claim(pid, run["due_at"], now + LEASE):
            return
        subject = self._store.subject(pid)
        if subject is None:
            self._store.end(pid)  # a run without its subject has nothing left to do (``end`` removes both at once)
            return
        self._step(pid, subject, run, now)

    def _step(self, pid: str, subject: str, run: Record, now: datetime) -> None:
        moved, deleted, done = self._sweep(pid, subject)
        settling = run.get("phase") == "settling"
        if not done:
            self._store.advance(pid, moved, deleted, now)  # due now: the next tick goes on
            self._audit.record(_job(now), "deidentify", "patient", pid, {"step": "swept", **_counts(moved, deleted)})
            return
        total_moved = int(run.get("moved") or 0) + moved
        total_deleted = int(run.get("deleted") or 0) + deleted
        if settling:
            self._audit.record(
                _job(now), "deidentify", "patient", pid, {"step": "settled", **_counts(total_moved, total_deleted)}
            )
            self._store.end(pid)
            count("RetentionRunsSettled")
            return
        profile = self._store.profile(pid)
        if profile is not None:
            self._store.release_outside(pid, profile)
            self._store.forget_profile(pid)
            deleted += 1
            total_deleted += 1
        self._accounts.forget(pid)
        self._store.advance(pid, moved, deleted, now + SETTLE, phase="settling")
        self._audit.record(
            _job(now), "deidentify", "patient", pid, {"step": "finished", **_counts(total_moved, total_deleted)}
        )
        count("RetentionRunsFinished")

    def _sweep(self, pid: str, subject: str) -> tuple[int, int, bool]:
        """Pages of the partition swept until the budget is spent: (readings moved, items removed, nothing left)."""
        moved = deleted = 0
        while moved + deleted < self._budget:
            # What a sweep removed is gone, so each Query starts where the last one stopped.
            items = self._store.page(pid, self._page)
            if not items:
                return moved, deleted, True  # only the profile and the run are left
            # Push endpoints first: the device items are the only record of them.
            self._accounts.forget_devices([str(i["endpoint_arn"]) for i in items if i.get("endpoint_arn")])
            m, d = self._store.sweep(subject, items)
            moved, deleted = moved + m, deleted + d
        return moved, deleted, False


def _counts(moved: int, deleted: int) -> dict[str, Any]:
    """What a step did to the partition: readings moved under the subject, and its other items removed."""
    return {"readings_kept": moved, "items_removed": deleted}


def _job(now: datetime) -> Principal:
    return Principal("retention", Role.ADMIN, request_id=f"retention-{iso(now)}")
