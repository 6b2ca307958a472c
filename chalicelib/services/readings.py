"""Recording readings exactly once, judging them, and reading them back.

The request path of a patient's own reading is one DynamoDB request: the
patient's profile and targets come from a short per-container cache (see
docs/design.md "Request cost"), classification is pure, and one conditional put both
stores a new reading and returns the stored one on a replay.  The audit record
of the write is derived from the table stream (the item carries the actor).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any, Protocol, get_args

from pydantic import TypeAdapter, ValidationError

from chalicelib.domain.alerts import is_late
from chalicelib.domain.classification import (
    VERY_HIGH_MG_DL,
    VERY_HIGH_WINDOW_HOURS,
    Judgement,
    can_repeat_very_high,
    classify_blood_pressure,
    classify_glucose,
)
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.errors import (
    ConflictError,
    FieldError,
    ForbiddenError,
    InvalidInputError,
    MalformedRequestError,
    NotFoundError,
)
from chalicelib.domain.identity import Principal, is_care_team
from chalicelib.domain.readings import (
    BloodPressureIn,
    GlucoseIn,
    Reading,
    ReadingIn,
    content_hash,
)
from chalicelib.domain.targets import Targets
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.services.patients import targets_of
from chalicelib.services.ports import Audit, Page, PatientAccess, Record

READING_ADAPTER: TypeAdapter[GlucoseIn | BloodPressureIn] = TypeAdapter(ReadingIn)
PATIENT_CACHE_SIZE = 10_000
LATE_GUIDANCE = "late_reading"
EARLIEST = "0000"
LATEST = "9999"
# The reading types, as the domain names them (blood_glucose, blood_pressure): one Query each when listing.
TYPES: tuple[str, ...] = get_args(Reading.model_fields["type"].annotation)


class ReadingStore(Protocol):
    """Stored readings, one per ``(patient_id, reading_id)`` (``DynamoReadingStore``).

    A record is a dict of a reading's fields as ``_build`` makes them; a record
    read back may carry storage attributes too (ignored here), keeps no null
    field, and holds an integral number as an integer (112.0 reads back as 112).
    """

    def put_new(self, record: Record) -> Record | None:
        """Store ``record`` unless its id is taken: None when stored, else the stored record (nothing written)."""
        ...

    def put_many_new(self, records: list[Record]) -> dict[str, Record]:
        """Store each record whose id is free (ids distinct); ``{reading_id: stored record}`` for those taken."""
        ...

    def glucose_between(self, patient_id: str, start: str, end: str) -> list[Record]:
        """Glucose readings measured in [start, end] (UTC ISO strings), oldest first."""
        ...

    def page(self, patient_id: str, reading_type: str, start: str, end: str, limit: int, start_key: Any) -> Page:
        """Up to ``limit`` readings of one type measured in [start, end], newest first, from ``start_key`` on.

        ``last_key`` is None when nothing follows; a key is opaque and JSON-safe.
        """
        ...

    def after(self, record: Record) -> Any:
        """The ``start_key`` of the page that continues right after ``record`` (one ``page`` returned)."""
        ...

    def every(self, patient_id: str) -> Iterable[Record]:
        """All of the patient's readings: glucose then blood pressure, each oldest first."""
        ...


class Outcome:
    """What happened to one submission: 201 stored, 200 replayed, or an error."""

    def __init__(self, status: int, reading: Reading | None = None, error: Exception | None = None) -> None:
        self.status = status
        self.reading = reading
        self.error = error


def to_reading(item: dict[str, Any]) -> Reading:
    classification = dict(item["classification"])
    flags = tuple(classification.get("flags", []))
    key = classification["guidance_key"]
    if "late" in flags and classification["severity"] != "normal":
        key = LATE_GUIDANCE  # rule 4: no "act now" advice for a reading of hours ago
    judgement = Judgement(classification["severity"], classification["category"], flags, key)
    fields = {k: item.get(k) for k in Reading.model_fields if k in item and k != "classification"}
    return Reading.model_validate({**fields, "classification": judgement.render(classification["language"])})


class ReadingService:
    def __init__(
        self,
        readings: ReadingStore,
        patients: PatientAccess,
        audit: Audit,
        cursors: CursorCodec,
        clock: Callable[[], datetime],
        new_id: Callable[[str], str],
        cache_seconds: float,
    ) -> None:
        self._readings = readings
        self._patients = patients
        self._audit = audit
        self._cursors = cursors
        self._clock = clock
        self._new_id = new_id
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}

    # -- who may write, and against which targets -------------------------------

    def _writer_context(self, principal: Principal, patient_id: str) -> dict[str, Any]:
        """The patient record to judge against, after checking the caller may write."""
        if principal.is_patient:
            if principal.subject != patient_id:
                raise NotFoundError("Patient not found.")
            cached = self._cache.get(patient_id)
            if cached and cached[0] > time.monotonic():
                return cached[1]
            record = self._patients.visible_record(principal, patient_id)
            if len(self._cache) >= PATIENT_CACHE_SIZE:
                self._cache.clear()  # bounded: a warm container serves many patients over its life
            self._cache[patient_id] = (time.monotonic() + self._cache_seconds, record)
            return record
        # Clinic entry: always a fresh record, so a care-team change takes effect at once.
        record = self._patients.visible_record(principal, patient_id)
        if not is_care_team(principal, record.get("care_team", [])):
            raise ForbiddenError("Only the patient or their care team may record readings.")
        return record

    # -- writing -------------------------------------------------------------------

    def record(self, principal: Principal, patient_id: str, payload: Any) -> Outcome:
        context = self._writer_context(principal, patient_id)
        now = self._clock()
        reading = self._parse(principal, payload, now)
        record = self._build(principal, patient_id, context, reading, now, batch=[])
        existing = self._readings.put_new(record)
        return self._outcome(record, existing)

    def record_batch(self, principal: Principal, patient_id: str, payloads: list[Any]) -> list[Outcome | None]:
        """Each item independent: valid ones are stored even when others fail."""
        context = self._writer_context(principal, patient_id)
        now = self._clock()
        outcomes: list[Outcome | None] = [None] * len(payloads)
        records: list[tuple[int, dict[str, Any]]] = []
        first_by_id: dict[str, int] = {}
        duplicates: list[tuple[int, dict[str, Any]]] = []
        accepted: list[GlucoseIn | BloodPressureIn] = []
        for index, payload in enumerate(payloads):
            try:
                reading = self._parse(principal, payload, now)
            except ValidationError as error:
                outcomes[index] = Outcome(422, error=error)
                continue
            record = self._build(principal, patient_id, context, reading, now, batch=accepted)
            if record["reading_id"] in first_by_id:
                duplicates.append((index, record))
                continue
            first_by_id[record["reading_id"]] = len(records)
            records.append((index, record))
            accepted.append(reading)
        existing = self._readings.put_many_new([r for _, r in records]) if records else {}
        for index, record in records:
            outcomes[index] = self._outcome(record, existing.get(record["reading_id"]))
        for index, record in duplicates:
            first = records[first_by_id[record["reading_id"]]][1]
            stored = existing.get(record["reading_id"], first)
            outcomes[index] = self._outcome(record, stored)
        return outcomes

    def _parse(self, principal: Principal, payload: Any, now: datetime) -> GlucoseIn | BloodPressureIn:
        return READING_ADAPTER.validate_python(payload, context={"now": now, "staff": not principal.is_patient})

    def _build(
        self,
        principal: Principal,
        patient_id: str,
        context: dict[str, Any],
        reading: GlucoseIn | BloodPressureIn,
        now: datetime,
        batch: list[GlucoseIn | BloodPressureIn],
    ) -> dict[str, Any]:
        targets = targets_of(context)
        judgement = self._judge(patient_id, reading, targets, batch)
        flags = list(judgement.flags)
        if is_late(reading.measured_at, now):
            flags.append("late")  # rule 4: history, reviewed on the worklist; it never pages
        record: dict[str, Any] = {
            **reading.model_dump(mode="json", exclude={"measured_at"}),
            "reading_id": reading.reading_id or self._new_id("r"),
            "patient_id": patient_id,
            "measured_at": iso(reading.measured_at),
            "received_at": iso(now),
            "classification": {
                "severity": judgement.severity,
                "category": judgement.category,
                "interpretation": judgement.interpretation,
                "flags": flags,
                "guidance_key": judgement.guidance_key,
                "language": context.get("language", "en"),
            },
            "content_hash": content_hash(reading),
            # The actor rides on the item; the stream copies it to the audit table.
            "created_by": principal.subject,
            "created_role": principal.role.value,
            "request_id": principal.request_id,
            "targets_version": targets.version,
        }
        if isinstance(reading, GlucoseIn):
            record["value_mg_dl"] = reading.value_mg_dl
        return record

    def _judge(
        self,
        patient_id: str,
        reading: GlucoseIn | BloodPressureIn,
        targets: Targets,
        batch: list[GlucoseIn | BloodPressureIn],
    ) -> Judgement:
        if isinstance(reading, BloodPressureIn):
            return classify_blood_pressure(reading, targets)
        repeated = False
        if can_repeat_very_high(reading):
            repeated = self._another_very_high_nearby(patient_id, reading, batch)
        return classify_glucose(reading, targets, repeated_very_high=repeated)

    def _another_very_high_nearby(self, patient_id: str, reading: GlucoseIn, batch: list[Any]) -> bool:
        """Another glucose >= 300 mg/dL measured within 6 h of this one (either side: offline syncs arrive late)."""
        window = timedelta(hours=VERY_HIGH_WINDOW_HOURS)
        start, end = reading.measured_at - window, reading.measured_at + window

        def counts(other_id: str | None, value: float | None, flag: str | None, at: datetime) -> bool:
            very_high = flag == "HI" or (value is not None and value >= VERY_HIGH_MG_DL)
            same = reading.reading_id is not None and other_id == reading.reading_id
            return very_high and not same and start <= at <= end

        for other in batch:
            if isinstance(other, GlucoseIn) and counts(
                other.reading_id, other.value_mg_dl, other.meter_flag, other.measured_at
            ):
                return True
        stored = self._readings.glucose_between(patient_id, iso(start), iso(end))
        return any(
            counts(i.get("reading_id"), i.get("value_mg_dl"), i.get("meter_flag"), parse_iso(i["measured_at"]))
            for i in stored
        )

    def _outcome(self, record: dict[str, Any], existing: dict[str, Any] | None) -> Outcome:
        if existing is None:
            return Outcome(201, to_reading(_as_read(record)))
        if existing.get("content_hash") == record["content_hash"]:
            # A replay answers as the first time (docs/api.md "Retries are safe"): the alert the stream has
            # named on the reading since is the history's to show, not the write's.
            return Outcome(200, to_reading({k: v for k, v in existing.items() if k != "alert_id"}))
        return Outcome(409, error=ConflictError("A different reading with this reading_id was already recorded."))

    # -- reading back --------------------------------------------------------------

    def history(
        self,
        principal: Principal,
        patient_id: str,
        reading_type: str | None,
        start: str | None,
        end: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Reading], str | None]:
        self._patients.visible_record(principal, patient_id)
        if reading_type is not None and reading_type not in TYPES:
            raise MalformedRequestError(
                "Unknown reading type.", [FieldError("type", "blood_glucose or blood_pressure")]
            )
        lower, upper = _bound(start, "from", EARLIEST), _bound(end, "to", LATEST)
        if start is not None and end is not None and lower > upper:
            # A range the wrong way round is the client's mistake (DynamoDB answers it with an error: a 500).
            raise InvalidInputError("'from' is after 'to'.", [FieldError("from", "must not be after 'to'")])
        scope = f"readings:{patient_id}:{reading_type or ''}:{lower}:{upper}"
        positions: dict[str, Any] = self._cursors.decode(scope, cursor) or {}
        types = [reading_type] if reading_type else list(TYPES)
        # One Query per type (two without a filter), each at most one page: cost does not grow with history.
        candidates: list[tuple[str, dict[str, Any]]] = []
        exhausted: set[str] = set()
        for t in types:
            if positions.get(t, "start") is None:
                exhausted.add(t)
                continue
            start_key = positions.get(t) if positions.get(t) != "start" else None
            page = self._readings.page(patient_id, t, lower, upper, limit, start_key)
            candidates += [(t, item) for item in page.items]
            if page.last_key is None:
                exhausted.add(t)
        candidates.sort(key=lambda pair: (pair[1]["measured_at"], pair[1]["reading_id"]), reverse=True)
        taken = candidates[:limit]
        next_positions: dict[str, Any] = {}
        for t in types:
            mine = [item for typ, item in taken if typ == t]
            left_behind = any(typ == t for typ, _ in candidates[limit:])
            if mine:
                last = mine[-1]
                next_positions[t] = self._readings.after(last)
                if t in exhausted and not left_behind:
                    next_positions[t] = None
            else:
                next_positions[t] = None if t in exhausted else positions.get(t, "start")
        more = any(v is not None for v in next_positions.values())
        self._audit.record(principal, "list", "reading", patient_id, {"count": len(taken)})
        return [to_reading(item) for _, item in taken], self._cursors.encode(scope, next_positions if more else None)

    def export(self, principal: Principal, patient_id: str) -> dict[str, Any]:
        """The patient and every reading as a FHIR R4 collection Bundle.

        A dict, not a response model: the answer is a FHIR document (``application/fhir+json``),
        whose shape FHIR defines and ``domain/fhir.py`` builds; the view sends it as it is.  A record
        too large for one answer is RecordTooLargeError, found before the rest of it is read.
        """
        from chalicelib.domain import fhir
        from chalicelib.services.patients import patient_of

        record = self._patients.visible_record(principal, patient_id)
        read = 0

        def readings() -> Iterator[Reading]:
            nonlocal read
            for item in self._readings.every(patient_id):
                read += 1
                yield to_reading(item)

        document = fhir.bundle(patient_of(record), readings(), iso(self._clock()))
        self._audit.record(principal, "export", "patient", patient_id, {"readings": read})
        return document


def _as_read(value: Any) -> Any:
    """``value`` as the store reads it back: no null fields, an integral number as an integer.

    So a new reading answers exactly as its replay will (112.0 is 112 in both).
    """
    if isinstance(value, dict):
        return {k: _as_read(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_as_read(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _bound(value: str | None, name: str, default: str) -> str:
    if value is None:
        return default
    try:
        # A "+" in an unencoded query string arrives as a space.
        moment = parse_iso(value.strip().replace(" ", "+"))
    except ValueError as error:
        raise MalformedRequestError(f"{name} must be an RFC 3339 time.", [FieldError(name, "invalid time")]) from error
    if moment.tzinfo is None:
        raise MalformedRequestError(f"{name} needs a UTC offset.", [FieldError(name, "missing UTC offset")])
    try:
        return iso(moment)
    except OverflowError as error:  # 0001-01-01T00:00+01:00 is before the first UTC moment Python has
        raise MalformedRequestError(f"{name} is out of range.", [FieldError(name, "out of range")]) from error
