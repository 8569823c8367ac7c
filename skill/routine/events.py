"""What the machine is told: events, whatever words or requests they came from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

from skill.routine.outcome import TimerReport
from skill.routine.steps import Purpose


class Ev(Enum):
    """What the user did, whatever words they used."""

    LAUNCH = "launch"
    START = "start"
    NEXT = "next"
    PREVIOUS = "previous"
    REPEAT = "repeat"
    START_OVER = "start_over"
    GO_TO = "go_to"  # value: the step number as heard (may be None or out of range)
    WHERE_AM_I = "where_am_i"
    STEPS_LEFT = "steps_left"
    SKIP = "skip"
    CANT_DO = "cant_do"  # "I can't do that": the step is skipped, never pushed
    MORE = "more"
    PAUSE = "pause"  # also "hold on", "give me a minute"
    RESUME = "resume"
    HELP = "help"
    STOP = "stop"
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"
    HURTS_MORE = "hurts_more"  # "it hurts more", "a little worse": worse to any degree
    NOT_WORSE = "not_worse"  # "about the same", "easing off", "a bit better"
    CRAMP_GONE = "cramp_gone"  # "it's gone", "the cramp has stopped"
    CRAMP_STAYS = "cramp_stays"  # "it's still cramping", "still there"
    RED_FLAG = "red_flag"  # value: the sign's id, or None when Alexa could not resolve it
    EMERGENCY = "emergency"  # "call 911", "get me an ambulance", "I need help"
    KEEP_MASSAGING = "keep_massaging"
    CHECKLIST = "checklist"
    PREVENTION = "prevention"
    OVERVIEW = "overview"  # "tell me all the steps"
    FALLBACK = "fallback"
    SESSION_ENDED = "session_ended"
    FORGET = "forget"
    SET_TIMER = "set_timer"  # value: minutes asked for, if any
    TIMER_LEFT = "timer_left"
    CANCEL_TIMER = "cancel_timer"
    PAUSE_TIMER = "pause_timer"
    RESUME_TIMER = "resume_timer"
    TIMER_RESULT = "timer_result"  # the Timers API answered an effect: `report` says how
    PERMISSION = "permission"  # Alexa's answer to asking for the timers permission by voice
    DRIVING = "driving"  # "I'm driving"
    PARKED = "parked"  # "I've parked", "I'm home"
    HELPER = "helper"  # "I'm helping someone", "my son has a cramp"
    FOR_ME = "for_me"  # "it's for me"
    SLOWER = "slower"  # "slower please": slower speech for the rest of the session
    LOUDER = "louder"  # "speak up": louder speech for the rest of the session
    ERROR = "error"  # the skill itself failed this turn


PermissionAnswer = Literal["accepted", "denied", "not_answered", "error"]


@dataclass(frozen=True)
class TimerTask:
    """What a timer that brings the skill back (Alexa's LAUNCH_TASK) says it timed: enough to
    land on the right question even when nothing was kept about the user."""

    purpose: Purpose
    round: int  # the cold round (for a wait: the round that comes next)
    minutes: int  # how long the timer ran


@dataclass(frozen=True)
class Event:
    """One thing the machine is told: what happened, when, and what came with it."""

    kind: Ev
    # GO_TO: the step number as heard; SET_TIMER: minutes; RED_FLAG: the sign's id;
    # PERMISSION: a PermissionAnswer.
    value: str | None = None
    at: float = 0.0  # when it happened (the request's timestamp), in seconds since the epoch
    in_car: bool = False  # the request came from a vehicle (context.Automotive)
    report: TimerReport | None = None  # TIMER_RESULT: what the Timers API did
    card_thrown: bool = False  # PERMISSION: Alexa already sent the consent card
    task: TimerTask | None = None  # LAUNCH: the timer that brought the skill back, if one did
