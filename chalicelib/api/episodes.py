"""Episodes: a patient's time in the monitoring program (docs/api.md "Program lifecycle")."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, page, to_response
from chalicelib.api.patients import known_id
from chalicelib.bootstrap import container
from chalicelib.domain.episodes import DischargeIn, Episode, EpisodeIn, EpisodePatch, PauseIn
from chalicelib.domain.meters import Meter, MeterIn

bp = Blueprint(__name__)
ROOT = "/patients/{patient_id}/episodes"
ONE = ROOT + "/{episode_id}"


@endpoint(
    bp,
    ROOT,
    methods=["POST"],
    status=201,
    summary="Open an episode (409 names the one that is not discharged; 200 on a keyed replay)",
    request=EpisodeIn,
    response=Episode,
    replay=True,
    keyed=True,
    conflicts=True,
)
def open_episode(call: Call, patient_id: str) -> Any:
    status, episode = container().episodes.open(
        call.caller, known_id(patient_id), call.body(EpisodeIn), call.idempotency_key()
    )
    return to_response(episode, status)


@endpoint(bp, ROOT, methods=["GET"], summary="Episodes, newest first", response=Episode, paged=True)
def list_episodes(call: Call, patient_id: str) -> Any:
    episodes = container().episodes.list(call.caller, known_id(patient_id))
    return page(episodes[: call.limit()], None)


@endpoint(
    bp,
    ONE,
    methods=["PATCH"],
    summary="Record RPM consent or change programs",
    request=EpisodePatch,
    response=Episode,
    conflicts=True,
)
def patch_episode(call: Call, patient_id: str, episode_id: str) -> Any:
    return container().episodes.patch(
        call.caller, known_id(patient_id), known_id(episode_id, "Episode"), call.body(EpisodePatch)
    )


@endpoint(
    bp,
    ONE + "/pause",
    methods=["POST"],
    summary="Pause monitoring",
    request=PauseIn,
    response=Episode,
    conflicts=True,
)
def pause_episode(call: Call, patient_id: str, episode_id: str) -> Any:
    return container().episodes.pause(
        call.caller, known_id(patient_id), known_id(episode_id, "Episode"), call.body(PauseIn)
    )


@endpoint(bp, ONE + "/resume", methods=["POST"], summary="Resume monitoring", response=Episode, conflicts=True)
def resume_episode(call: Call, patient_id: str, episode_id: str) -> Any:
    return container().episodes.resume(call.caller, known_id(patient_id), known_id(episode_id, "Episode"))


@endpoint(
    bp,
    ONE + "/discharge",
    methods=["POST"],
    summary="Discharge from the program",
    request=DischargeIn,
    response=Episode,
    conflicts=True,
)
def discharge_episode(call: Call, patient_id: str, episode_id: str) -> Any:
    return container().episodes.discharge(
        call.caller, known_id(patient_id), known_id(episode_id, "Episode"), call.body(DischargeIn)
    )


@endpoint(
    bp,
    "/patients/{patient_id}/devices/meters",
    methods=["POST"],
    status=201,
    summary="Register a meter (200 for the same again; 409 when another patient's)",
    request=MeterIn,
    response=Meter,
    replay=True,
    conflicts=True,
)
def register_meter(call: Call, patient_id: str) -> Any:
    status, meter = container().episodes.register_meter(call.caller, known_id(patient_id), call.body(MeterIn))
    return to_response(meter, status)
