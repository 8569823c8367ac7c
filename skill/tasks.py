"""The skill's one custom task: a timer that brings the runner back ("continue with Cramp Coach?").

A cold compress, the wait until the next cold round and the heat each set an Alexa timer whose
end launches the task ResumeRecovery (LAUNCH_TASK, PLATFORM.md "Timers API"). Its definition is
tasks/ResumeRecovery.1.json in the skill package, declared in skill.json
(manifest.apis.custom.tasks); when the runner says yes, the skill gets a LaunchRequest whose
`task` carries the input given here. That input says only what the timer timed, so the skill can
land on the right question even where nothing was kept about the user.

Light on purpose: read on every launch, so no Timers API client is imported here.
"""

from __future__ import annotations

from typing import Any

from skill.routine import Purpose, TimerTask

TASK_NAME = "ResumeRecovery"
TASK_VERSION = "1"
# The task's input, as tasks/ResumeRecovery.1.json declares it (the publishing checks compare).
MAX_ROUND = 99
MAX_MINUTES = 120  # a timer lasts at most two hours
INPUT_KEYS = frozenset({"purpose", "round", "minutes"})


def qualified_name(skill_id: str) -> str:
    """The name a timer's task is given: the skill's own id, then the task's name."""
    return f"{skill_id}.{TASK_NAME}"


def task_input(purpose: Purpose, round: int, minutes: int) -> dict[str, Any]:
    """What a timer's task carries: what it timed, nothing else about the user."""
    return {"purpose": purpose.value, "round": round, "minutes": minutes}


def read_task(name: Any, version: Any, given: Any, skill_id: str | None) -> TimerTask | None:
    """The timer a LaunchRequest's task says brought the skill back; None for a task that is not
    this skill's ResumeRecovery version 1 with a well-formed input (that launch is a plain one)."""
    if not isinstance(name, str) or name not in _names(skill_id):
        return None
    if not isinstance(version, str) or version != TASK_VERSION:
        return None
    if not isinstance(given, dict) or set(given) != INPUT_KEYS:
        return None
    purpose, round_, minutes = given["purpose"], given["round"], given["minutes"]
    if purpose not in {p.value for p in Purpose}:
        return None
    if not _whole(round_, MAX_ROUND) or not _whole(minutes, MAX_MINUTES):
        return None
    return TimerTask(Purpose(purpose), round_, minutes)


def _names(skill_id: str | None) -> set[str]:
    # Alexa sends the name as the timer was given it (<skill id>.<task>); the bare name is this
    # skill's too. A task named with another skill's id is not ours.
    return {TASK_NAME, *((qualified_name(skill_id),) if skill_id else ())}


def _whole(value: Any, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= most


def application_id(envelope: Any) -> str | None:
    """This skill's id, as the request envelope gives it (context.System.application)."""
    system = getattr(getattr(envelope, "context", None), "system", None)
    found = getattr(getattr(system, "application", None), "application_id", None)
    if not isinstance(found, str) or not found:  # an old envelope: the session's copy
        session = getattr(envelope, "session", None)
        found = getattr(getattr(session, "application", None), "application_id", None)
    return found if isinstance(found, str) and found else None


def launched_by(envelope: Any) -> TimerTask | None:
    """The timer a LaunchRequest says brought the skill back, if its task is ours and sound."""
    task = getattr(getattr(envelope, "request", None), "task", None)
    if task is None:
        return None
    return read_task(getattr(task, "name", None), getattr(task, "version", None),
                     getattr(task, "input", None), application_id(envelope))
