"""Short names for the intents tests send, and walks that tests share."""

from __future__ import annotations

from tooling.standins.alexa import Alexa, Reply

NEXT = "AMAZON.NextIntent"
PREVIOUS = "AMAZON.PreviousIntent"
REPEAT = "AMAZON.RepeatIntent"
START_OVER = "AMAZON.StartOverIntent"
YES = "AMAZON.YesIntent"
NO = "AMAZON.NoIntent"
HELP = "AMAZON.HelpIntent"
STOP = "AMAZON.StopIntent"
CANCEL = "AMAZON.CancelIntent"
HOME = "AMAZON.NavigateHomeIntent"
PAUSE = "AMAZON.PauseIntent"
RESUME = "AMAZON.ResumeIntent"
FALLBACK = "AMAZON.FallbackIntent"
GO_TO = "GoToStepIntent"
WHERE = "WhereAmIIntent"
LEFT = "StepsLeftIntent"
SKIP = "SkipIntent"
MORE = "MoreDetailIntent"
UNSURE = "UnsureIntent"
HURTS = "HurtsMoreIntent"
RED_FLAG = "RedFlagIntent"
KEEP_MASSAGING = "KeepMassagingIntent"
CHECKLIST = "ChecklistIntent"
PREVENTION = "PreventionIntent"
START = "StartRoutineIntent"
SET_TIMER = "SetTimerIntent"
TIMER_LEFT = "TimerLeftIntent"
CANCEL_TIMER = "CancelTimerIntent"
PAUSE_TIMER = "PauseTimerIntent"
RESUME_TIMER = "ResumeTimerIntent"
EMERGENCY = "EmergencyIntent"
NOT_WORSE = "NotWorseIntent"
CRAMP_GONE = "CrampGoneIntent"
CRAMP_STILL = "CrampStillIntent"
CANT_DO = "CantDoIntent"
SLOWER = "SlowerIntent"
LOUDER = "LouderIntent"
DRIVING = "DrivingIntent"
PARKED = "ParkedIntent"
HELPER = "HelperModeIntent"
FOR_ME = "ForMeIntent"
OVERVIEW = "OverviewIntent"
FORGET = "ForgetMeIntent"

# Words that appear only in each step's hands-on instruction.
HANDS_ON_WORDS = {
    1: "walk home",
    2: "pull your toes",
    3: "gentle pressure",
    4: "put a cold compress",
    5: "hot shower",
    6: "drink plenty of water",
    7: "ibuprofen",
    8: "rest the muscle until",
}


def step_of(reply: Reply) -> int:
    step: int = reply.attributes["routine"]["step"]
    return step


def walk_to(alexa: Alexa, step: int, *, answer_gate: bool = True) -> Reply:
    """Launch and go forward to `step`, answering "no" at the pain question on the way."""
    reply = alexa.launch()
    while step_of(reply) < step:
        reply = alexa.intent(NEXT)
        pending = reply.attributes["routine"]["pending"]
        if pending == "pain_gate" and step_of(reply) < step:
            reply = alexa.intent(NO)
        elif pending == "cramp_gone":
            reply = alexa.intent(YES)
    if answer_gate and reply.attributes["routine"]["pending"] == "pain_gate":
        reply = alexa.intent(NO)
    assert step_of(reply) == step
    return reply
