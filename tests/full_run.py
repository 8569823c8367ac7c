"""A whole routine, walked the way a cooperative runner would, whatever steps it grows.

Shared by the fault-injection and speech-budget tests and by benchmarks/: nothing here knows
the steps or the questions by name except the pain question, whose safe answer for a full
run is "no, it isn't getting worse" (so the massage is given). Any other question the skill
asks (a timer offer, "is the cramping gone?", "carry on or start over?") is answered yes, a
hand-over to Alexa's permission question is answered "denied", and with no question pending
the runner says "next". The run ends when the skill says the routine is finished.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any

from tooling.standins.alexa import Alexa, Device, Reply

NEXT = "AMAZON.NextIntent"
YES = "AMAZON.YesIntent"
NO = "AMAZON.NoIntent"
STOP = "AMAZON.StopIntent"
# Safe answers for a full run; any other pending question gets YES.
ANSWERS = {"pain_gate": NO}
PERMISSION = "DENIED"  # the answer to Alexa's own timers permission question
MAX_TURNS = 80  # a full run takes about 13; far more means the walk is going round in circles


def step_of(reply: Reply) -> int:
    return int(reply.state.get("step") or 0)


def finished(reply: Reply) -> bool:
    return bool(reply.state.get("finished"))


def answer(alexa: Alexa, reply: Reply) -> Reply:
    """The runner's next turn after `reply` (the session is open)."""
    if reply.hands_over:
        return alexa.permission_answer(PERMISSION)
    pending = reply.state.get("pending")
    if pending:
        return alexa.intent(ANSWERS.get(pending, YES))
    return alexa.intent(NEXT)


@dataclass
class Run:
    """Every reply of one walk through the routine, in order."""

    replies: list[Reply] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # what was sent: launch, an intent, ...

    @property
    def turns(self) -> int:
        return len(self.replies)

    @property
    def last(self) -> Reply:
        return self.replies[-1]

    def transcript(self, last: int = 6) -> str:
        """The last turns, for a failure message: what was said to the skill, where it got to,
        and what it chose (its keys, or its words where no observer saw the turn)."""
        return "\n".join(
            f"  {k} -> step {step_of(r)} {r.state.get('pending')}: {r.keys or r.speech}"
            for k, r in zip(self.kinds[-last:], self.replies[-last:], strict=True))


BeforeTurn = Callable[[int], None]  # told the step the runner is at before each turn


def walk(alexa: Alexa, *, before_turn: BeforeTurn | None = None,
         session_per_step: bool = False, opening: tuple[str, ...] = ()) -> Run:
    """Launch and walk to the end of the routine; returns every reply.

    `before_turn(step)` runs before each request with the step the runner is at (0 before
    the launch): a test can break the store or the Timers API there. `session_per_step`:
    after arriving at each new step the runner stops and opens the skill again (a session
    that dies at every step, so every step starts with a read of the store). `opening`:
    intents said right after the launch (e.g. "I'm helping someone").
    """
    run = Run()
    at = 0

    def send(kind: str, call: Callable[[], Reply]) -> Reply:
        nonlocal at
        if before_turn is not None:
            before_turn(at)
        reply = call()
        run.replies.append(reply)
        run.kinds.append(kind)
        if reply.state:
            at = step_of(reply)
        assert run.turns <= MAX_TURNS, f"no end after {MAX_TURNS} turns:\n{run.transcript()}"
        return reply

    reply = send("launch", alexa.launch)
    for intent in opening:
        reply = send(intent, partial(alexa.intent, intent))
    reopened_at = at
    while not (finished(reply) and reply.ends_session):
        if reply.ends_session:
            # The session closed before the end (a pause, a timer wait): open it again.
            reply = send("launch", alexa.launch)
            continue
        if session_per_step and at != reopened_at and not reply.state.get("pending"):
            send(STOP, partial(alexa.intent, STOP))
            reply = send("launch", alexa.launch)
            reopened_at = at
            continue
        reply = send(_kind(reply), partial(answer, alexa, reply))
    return run


def _kind(reply: Reply) -> str:
    if reply.hands_over:
        return "Connections.Response"
    pending = reply.state.get("pending")
    return ANSWERS.get(pending, YES) if pending else NEXT


# --- situations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Situation:
    """Who is talking to the skill, on what: a device kind and what they say after launch."""

    name: str
    device: str  # a kind tooling.standins.alexa.Device.of_kind knows: speaker, screen, car
    opening: tuple[str, ...] = ()  # intents said right after the launch
    note: str = ""


# The situations the skill is measured in (benchmarks/speech_report.py, the speech budget
# tests); add a row for a new one. A row the skill cannot play yet (an unknown device kind,
# an intent missing from the model) is skipped where it is used.
SITUATIONS = (
    Situation("speaker", "speaker", note="a runner on the floor, the speaker across the room"),
    Situation("screen", "screen", note="an Echo Show: the same words, with APL on screen"),
    Situation("car", "car", note="driving the whole way: hands-on steps wait for parking"),
    Situation("car, parked", "car", ("ParkedIntent",), note="says \"I've parked\" at once"),
    Situation("caregiver", "speaker", ("HelperModeIntent",),
              note="\"I'm helping someone\" after the launch"),
)


def device_for(situation: Situation, **fields: Any) -> Device | None:
    """A device for the situation, or None when the simulator has no such kind yet."""
    of_kind = getattr(Device, "of_kind", None)
    if of_kind is None:
        return Device(**fields) if situation.device == "speaker" else None
    try:
        device: Device = of_kind(situation.device, **fields)
    except ValueError:
        return None
    return device


# --- measuring what is said ---------------------------------------------------------------


def words(text: str) -> int:
    """Spoken words: tokens with a letter or digit in them (a stray "." is not a word)."""
    return sum(1 for token in text.split() if any(c.isalnum() for c in token))


@cache
def instruction_openings(locale: str) -> tuple[str, ...]:
    """The first sentence of every step's instruction, in every phrasing variant on disk.

    Rendered from the templates, so new steps, wording or variants (the caregiver's, the
    car's) are covered as they appear.
    """
    from skill.routine import Line, State, load_routine
    from skill.speech import TEMPLATES, Voice, to_text

    routine = load_routine()
    openings: set[str] = set()
    for number, step in enumerate(routine.steps, start=1):
        variants = {""} | {p.stem.partition("@")[2]
                           for p in TEMPLATES.glob(f"*/step/{step.id}@*.ssml")}
        for variant in variants:
            chosen = (variant,) if variant else ()
            voice = Voice(locale, State(step=number), routine, variants=chosen)
            # Every form a step's words take (stopping, for someone who can or cannot walk);
            # a value a step's template does not use changes nothing.
            for can_walk in (True, False):
                line = Line(f"step/{step.id}", {"can_walk": can_walk})
                text = to_text(voice.ssml(line))
                openings.add(text.split(". ")[0].split(": ")[0])
    return tuple(sorted(o for o in openings if words(o) >= 2))


def words_before_first_instruction(speech: str, locale: str) -> int | None:
    """How many words are said before the first step instruction begins (None: no instruction)."""
    found = [speech.find(opening) for opening in instruction_openings(locale)]
    at = min((i for i in found if i >= 0), default=-1)
    return None if at < 0 else words(speech[:at])
