"""Timers that bring the skill back (LAUNCH_TASK), in every locale, against the Timers API
stand-in: the wire shape of each timer, the fall back to an announcing timer where a device
refuses LAUNCH_TASK, the LaunchRequest a yes sends landing on the right question (with and
without memory), tasks that are not ours getting the plain launch, and whole recoveries run
hands-free: after the first "open cramp coach" nobody says the skill's name again.

Assertions are on the wire (request bodies, task inputs) and on what the skill chose (keys,
state), never on English words.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from skill.routine import Purpose, State, load_routine
from skill.speech import Voice
from skill.tasks import TASK_NAME, TASK_VERSION, read_task
from skill.timers import CONTINUE_WITH_SKILL_NAME
from tests.conftest import ROOT, FakeClock
from tests.talk import NEXT, NO, STOP, YES, step_of, walk_to
from tooling.standins.alexa import APPLICATION_ID, Alexa, Reply
from tooling.standins.timers_api import StandInTimer, TimersApiStandIn

pytestmark = pytest.mark.every_locale

ROUTINE = load_routine()
COLD_STEP = ROUTINE.cold_step
HEAT_STEP = ROUTINE.number_of(Purpose.HEAT)
HOUR = ROUTINE.repeat_every
COLD_TIMER = ROUTINE.step(COLD_STEP).timer
HEAT_TIMER = ROUTINE.step(HEAT_STEP).timer
assert COLD_TIMER is not None and HEAT_TIMER is not None
COLD_MINUTES, HEAT_MINUTES = COLD_TIMER.choices[0], HEAT_TIMER.choices[0]
TIMERS_PATH = "/v1/alerts/timers"
OUR_TASK = f"{APPLICATION_ID}.{TASK_NAME}"


@pytest.fixture
def timers_api(timers_api: TimersApiStandIn, locale: str) -> TimersApiStandIn:
    """The test's stand-in on a device in the conversation's locale."""
    timers_api.locale = locale
    return timers_api


# --- helpers --------------------------------------------------------------------------------


def creates(api: TimersApiStandIn) -> list[dict[str, Any]]:
    """The bodies of every timer the skill asked the stand-in to create, in order."""
    return [r.body for r in api.requests if (r.method, r.path) == ("POST", TIMERS_PATH)]


def confirm_text(locale: str, purpose: str, *, helper: bool = False) -> str:
    """The question a timer's end asks, as the skill renders it for `locale`."""
    voice = Voice(locale, State(), ROUTINE, variants=("helper",) if helper else ())
    return voice.text("timer/confirm", purpose=purpose, skill=CONTINUE_WITH_SKILL_NAME)


def task(purpose: str, round_: Any, minutes: Any, *, name: str = OUR_TASK,
         version: Any = TASK_VERSION, **extra: Any) -> dict[str, Any]:
    """A LaunchRequest's task, as Alexa sends it back from a timer."""
    return {"name": name, "version": version,
            "input": {"purpose": purpose, "round": round_, "minutes": minutes, **extra}}


def ring(api: TimersApiStandIn, clock: FakeClock) -> StandInTimer:
    """The device's clock catches up with the requests' and the one timer due goes off."""
    api.clock.now_s = clock.now.timestamp()  # type: ignore[attr-defined]
    [fired] = api.fire_due()
    return fired


def say_yes_to(fired: StandInTimer, alexa: Alexa) -> Reply:
    """"Continue with Cramp Coach?" answered yes: Alexa launches the skill with the task."""
    assert fired.task is not None, "the timer only announced: it cannot bring the skill back"
    return alexa.launch(task=fired.task)


def after_disclaimer(reply: Reply, first_time: bool) -> tuple[str, ...]:
    """The keys of a comeback; someone the skill has never spoken to (nothing kept) hears the
    disclaimer first, once."""
    keys = reply.keys
    assert (keys[:1] == ("open/disclaimer",)) == first_time, keys
    return keys[1:] if first_time else keys


def at_cold(alexa: Alexa) -> Reply:
    reply = walk_to(alexa, COLD_STEP)
    assert reply.state["pending"] == "timer_offer", reply.keys
    return reply


def asks(reply: Reply, question: str, key: str) -> None:
    assert reply.state.get("pending") == question, reply.keys
    assert reply.keys[-1] == key and not reply.ends_session, reply.keys


# --- the timer request ----------------------------------------------------------------------


def test_a_cold_timer_launches_the_task_with_what_it_timed(
    alexa: Alexa, timers_api: TimersApiStandIn, locale: str
) -> None:
    """The compress timer asks, in the device's locale and with Alexa's placeholder for the
    skill's name, whether to go back, and carries the task: purpose, round and minutes."""
    at_cold(alexa)
    reply = alexa.intent(YES)
    assert "timer/set" in reply.keys and "timer/failed" not in reply.keys
    [body] = creates(timers_api)
    operation = body["triggeringBehavior"]["operation"]
    assert set(operation) == {"type", "textToConfirm", "task"}
    assert operation["type"] == "LAUNCH_TASK"
    assert operation["task"] == {"name": OUR_TASK, "version": "1",
                                 "input": {"purpose": "cold", "round": 1,
                                           "minutes": COLD_MINUTES}}
    assert operation["textToConfirm"] == [{"locale": locale,
                                           "text": confirm_text(locale, "cold")}]
    assert CONTINUE_WITH_SKILL_NAME in operation["textToConfirm"][0]["text"]
    assert body["triggeringBehavior"]["notificationConfig"] == {"playAudible": True}
    [timer] = timers_api.timers()
    assert timer.task == operation["task"]


def test_the_wait_and_the_heat_timers_carry_their_own_task(
    alexa: Alexa, make_alexa: Callable[..., Alexa], timers_api: TimersApiStandIn,
    clock: FakeClock, locale: str
) -> None:
    """The wait until the next cold round names the round that comes next; the heat timer
    names the heat; each asks its own question."""
    at_cold(alexa)
    alexa.intent(YES)
    clock.advance(minutes=COLD_MINUTES)
    say_yes_to(ring(timers_api, clock), alexa)
    alexa.intent(NO)  # not gone: the wait is offered
    alexa.intent(YES)
    wait = creates(timers_api)[-1]["triggeringBehavior"]["operation"]
    assert wait["task"]["input"] == {"purpose": "wait", "round": 2,
                                     "minutes": HOUR - COLD_MINUTES}
    assert wait["textToConfirm"] == [{"locale": locale, "text": confirm_text(locale, "wait")}]

    heat_runner = make_alexa()
    walk_to(heat_runner, HEAT_STEP)
    heat_runner.intent(YES)
    heat = creates(timers_api)[-1]["triggeringBehavior"]["operation"]
    assert heat["task"]["name"] == OUR_TASK and heat["task"]["version"] == "1"
    assert heat["task"]["input"]["purpose"] == "heat"
    assert heat["task"]["input"]["minutes"] == HEAT_MINUTES
    assert heat["textToConfirm"] == [{"locale": locale, "text": confirm_text(locale, "heat")}]
    assert len({confirm_text(locale, p) for p in ("cold", "wait", "heat")}) == 3


def test_a_helpers_timer_asks_in_the_helpers_words(
    alexa: Alexa, timers_api: TimersApiStandIn, locale: str
) -> None:
    """Someone helping a runner hears the question about them, still with the placeholder."""
    at_cold(alexa)
    helping = alexa.intent("HelperModeIntent")
    assert helping.state["helping"], helping.keys
    if helping.state["pending"] != "timer_offer":
        alexa.intent("SetTimerIntent")
    else:
        alexa.intent(YES)
    [entry] = creates(timers_api)[-1]["triggeringBehavior"]["operation"]["textToConfirm"]
    assert entry == {"locale": locale, "text": confirm_text(locale, "cold", helper=True)}
    assert CONTINUE_WITH_SKILL_NAME in entry["text"]


# --- a device without LAUNCH_TASK -----------------------------------------------------------


def test_a_device_that_refuses_launch_task_gets_an_announcing_timer(
    alexa: Alexa, timers_api: TimersApiStandIn, locale: str
) -> None:
    """A 400 for the operation: the same timer is set to announce instead, and the routine
    hears only that a timer was set (nothing alarming is said)."""
    timers_api.launch_task = False
    at_cold(alexa)
    reply = alexa.intent(YES)
    first, second = creates(timers_api)
    assert first["triggeringBehavior"]["operation"]["type"] == "LAUNCH_TASK"
    announce = second["triggeringBehavior"]["operation"]
    assert announce["type"] == "ANNOUNCE"
    assert announce["textToAnnounce"][0]["locale"] == locale
    assert second["timerLabel"] == first["timerLabel"]
    assert reply.outcome is not None
    assert [line.key for line in reply.outcome.lines] == ["timer/set"]
    assert reply.state["pending"] is None and not reply.ends_session
    [timer] = timers_api.timers()
    assert timer.task is None and [t["id"] for t in reply.state["timers"]] == [timer.id]


def test_a_refusal_that_would_refuse_any_timer_is_not_retried(
    alexa: Alexa, timers_api: TimersApiStandIn
) -> None:
    """Ten timers on the device: refused for the limit, not for the operation; no second try,
    and the runner hears how to time it (as before LAUNCH_TASK)."""
    timers_api.personal_timers = 10
    at_cold(alexa)
    reply = alexa.intent(YES)
    assert len(creates(timers_api)) == 1
    assert "timer/failed" in reply.keys and "timer/time_yourself" in reply.keys


def test_the_stand_in_refuses_a_malformed_launch_task(timers_api: TimersApiStandIn) -> None:
    """The stand-in holds LAUNCH_TASK to Alexa's rules: a declared task of this skill, its
    version, an input that fits the task file, a question in the device's locale with the
    placeholder; anything else is a 400."""
    good = {"type": "LAUNCH_TASK",
            "textToConfirm": [{"locale": "en-US", "text": f"Back to {CONTINUE_WITH_SKILL_NAME}?"}],
            "task": task("cold", 1, 15)}
    timers_api.locale = "en-US"
    broken: list[Callable[[dict[str, Any]], None]] = [
        lambda op: op["task"].update(name=TASK_NAME.lower()),
        lambda op: op["task"].update(name=f"amzn1.ask.skill.other.{TASK_NAME}"),
        lambda op: op["task"].update(version="2"),
        lambda op: op["task"].update(version=1),
        lambda op: op["task"]["input"].update(purpose="ice"),
        lambda op: op["task"]["input"].update(round=0),
        lambda op: op["task"]["input"].update(minutes="15"),
        lambda op: op["task"]["input"].update(user="someone"),
        lambda op: op["task"]["input"].pop("minutes"),
        lambda op: op.pop("task"),
        lambda op: op.update(textToConfirm=[{"locale": "de-DE",
                                             "text": CONTINUE_WITH_SKILL_NAME}]),
        lambda op: op.update(textToConfirm=[{"locale": "en-US", "text": "Back to Cramp Coach?"}]),
    ]

    def post(operation: Mapping[str, Any], label: str) -> int:
        body = {"duration": "PT15M", "timerLabel": label,
                "creationBehavior": {"displayExperience": {"visibility": "VISIBLE"}},
                "triggeringBehavior": {"operation": operation,
                                       "notificationConfig": {"playAudible": True}}}
        answer = timers_api.answer("POST", TIMERS_PATH, {"Authorization": "Bearer t"}, body)
        assert isinstance(answer, tuple)
        return answer[0]

    assert post(good, "good") == 200
    for n, breaking in enumerate(broken):
        operation = json.loads(json.dumps(good))
        breaking(operation)
        assert post(operation, f"broken {n}") == 400, operation
    timers_api.launch_task = False
    assert post(good, "no launch task") == 400


# --- coming back with a task ----------------------------------------------------------------


@pytest.mark.parametrize("remembered", [True, False], ids=["memory", "no memory"])
def test_a_cold_timers_yes_asks_whether_the_cramping_is_gone(
    make_alexa: Callable[..., Alexa], alexa: Alexa, timers_api: TimersApiStandIn,
    clock: FakeClock, remembered: bool
) -> None:
    """Back from the compress, with the place kept or on another device that kept nothing:
    welcome back, the compress is done, and "is the cramping completely gone?"."""
    at_cold(alexa)
    alexa.intent(YES)
    alexa.end_session("EXCEEDED_MAX_REPROMPTS")
    clock.advance(minutes=COLD_MINUTES)
    fired = ring(timers_api, clock)
    runner = alexa if remembered else make_alexa()
    back = say_yes_to(fired, runner)
    assert after_disclaimer(back, not remembered) == (
        "timer/welcome_back", "timer/cold_done", "cold/gone_ask")
    asks(back, "cramp_gone", "cold/gone_ask")
    assert step_of(back) == COLD_STEP and back.state["cold_round"] == 1
    assert back.state["timers"] == []


@pytest.mark.parametrize("remembered", [True, False], ids=["memory", "no memory"])
def test_a_wait_timers_yes_starts_the_next_cold_round(
    make_alexa: Callable[..., Alexa], alexa: Alexa, timers_api: TimersApiStandIn,
    clock: FakeClock, remembered: bool
) -> None:
    """Back after the wait: the next cold round starts at once, with its timer offered."""
    at_cold(alexa)
    alexa.intent(YES)
    clock.advance(minutes=COLD_MINUTES)
    say_yes_to(ring(timers_api, clock), alexa)
    alexa.intent(NO)
    assert alexa.intent(YES).ends_session  # the wait timer is set; see you in the hour
    clock.advance(minutes=HOUR - COLD_MINUTES)
    fired = ring(timers_api, clock)
    runner = alexa if remembered else make_alexa()
    back = say_yes_to(fired, runner)
    assert after_disclaimer(back, not remembered)[0] == "timer/welcome_back"
    assert "cold/round" in back.keys
    asks(back, "timer_offer", "timer/offer")
    assert step_of(back) == COLD_STEP and back.state["cold_round"] == 2
    assert back.state["round_started_at"] == clock.now.timestamp()


@pytest.mark.parametrize("remembered", [True, False], ids=["memory", "no memory"])
def test_a_heat_timers_yes_moves_on_past_the_heat(
    make_alexa: Callable[..., Alexa], alexa: Alexa, timers_api: TimersApiStandIn,
    clock: FakeClock, remembered: bool
) -> None:
    """Back after the heat: welcome back, the heat is done, and on to the next step."""
    walk_to(alexa, HEAT_STEP)
    alexa.intent(YES)
    alexa.intent(STOP)
    clock.advance(minutes=HEAT_MINUTES)
    fired = ring(timers_api, clock)
    runner = alexa if remembered else make_alexa()
    back = say_yes_to(fired, runner)
    assert after_disclaimer(back, not remembered)[:2] == ("timer/welcome_back", "timer/heat_done")
    assert step_of(back) == HEAT_STEP + 1 and not back.ends_session


# --- tasks that are not ours ----------------------------------------------------------------


NOT_OURS: dict[str, Any] = {
    "another skill's task": task("cold", 1, 15, name=f"amzn1.ask.skill.other.{TASK_NAME}"),
    "another task": task("cold", 1, 15, name=f"{APPLICATION_ID}.SomethingElse"),
    "a later version": task("cold", 1, 15, version="2"),
    "an unknown purpose": task("ice", 1, 15),
    "round zero": task("cold", 0, 15),
    "minutes as words": task("cold", 1, "fifteen"),
    "minutes past two hours": task("cold", 1, 500),
    "a true round": task("cold", True, 15),
    "more than it was given": task("cold", 1, 15, note="hello"),
    "an input that is a list": {"name": OUR_TASK, "version": "1", "input": [1, 2]},
    "no input": {"name": OUR_TASK, "version": "1"},
    "no name": {"version": "1", "input": {"purpose": "cold", "round": 1, "minutes": 15}},
    "a task that is a string": "ResumeRecovery",
    "a task that is a number": 7,
}


@pytest.mark.parametrize("given", list(NOT_OURS.values()), ids=list(NOT_OURS))
def test_a_task_that_is_not_ours_gets_the_plain_launch(
    make_alexa: Callable[..., Alexa], given: Any
) -> None:
    """An unknown or malformed task is neither an error nor a guess: the launch any new
    user gets."""
    plain = make_alexa().launch()
    odd = make_alexa().launch(task=given)
    assert odd.keys == plain.keys and "error/sorry" not in odd.keys
    assert step_of(odd) == step_of(plain) == 1 and odd.state["pending"] is None


def test_the_bare_task_name_is_ours_too() -> None:
    """Alexa names the task as the timer did; the bare name, without the skill id, is read as
    this skill's own (and any other skill's id is not)."""
    given = {"purpose": "heat", "round": 1, "minutes": 15}
    assert read_task(TASK_NAME, "1", given, APPLICATION_ID) is not None
    assert read_task(TASK_NAME, "1", given, None) is not None
    assert read_task(OUR_TASK, "1", given, None) is None
    assert read_task(OUR_TASK, "1", given, "amzn1.ask.skill.other") is None


def test_the_placeholder_for_the_skills_name_has_one_home() -> None:
    """Alexa's placeholder for the skill's name is spelled out once, in skill/timers.py: the
    templates take it as a value, the stand-ins, the console and the tests import it."""
    spelled = CONTINUE_WITH_SKILL_NAME
    homes = [path.relative_to(ROOT).as_posix()
             for folder in ("skill", "tooling", "lambda", "tests", "benchmarks")
             for path in sorted((ROOT / folder).rglob("*"))
             if path.is_file() and path.suffix in (".py", ".ssml", ".txt", ".json")
             and "node_modules" not in path.parts
             and spelled in path.read_text(encoding="utf-8", errors="replace")]
    assert homes == ["skill/timers.py"]


def test_the_task_file_declares_the_input_the_skill_reads() -> None:
    """tasks/ResumeRecovery.1.json asks for exactly the input the skill sends and reads:
    purpose (cold, wait, heat), round and minutes, nothing about health beyond that."""
    definition = json.loads((ROOT / "tasks" / f"{TASK_NAME}.{TASK_VERSION}.json").read_text(
        encoding="utf-8"))
    schema = definition["paths"][f"/{TASK_NAME}"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert set(schema["properties"]) == set(schema["required"]) == {"purpose", "round", "minutes"}
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]["purpose"]["enum"]) == {p.value for p in Purpose}


# --- a whole recovery, hands-free -----------------------------------------------------------


def test_three_cold_rounds_and_the_heat_without_the_skills_name(
    alexa: Alexa, timers_api: TimersApiStandIn, clock: FakeClock, replies: list[Reply]
) -> None:
    """One "open cramp coach"; after it, every session opens from a timer going off and a yes:
    three hourly cold rounds, "gone" after the third, the heat, then the steps after it."""
    sent: list[str] = []

    def launch(fired: StandInTimer) -> Reply:
        sent.append(f"task:{fired.task['input']['purpose'] if fired.task else None}")
        return say_yes_to(fired, alexa)

    sent.append("launch")
    reply = at_cold(alexa)
    for round_ in (1, 2, 3):
        if round_ > 1:  # back from the wait: the round begins with its own offer
            asks(reply, "timer_offer", "timer/offer")
            assert reply.state["cold_round"] == round_
        reply = alexa.intent(YES)  # time the compress
        assert "timer/set" in reply.keys and not reply.ends_session
        alexa.end_session("EXCEEDED_MAX_REPROMPTS")  # the runner lies still, says nothing
        clock.advance(minutes=COLD_MINUTES)
        reply = launch(ring(timers_api, clock))
        assert reply.keys == ("timer/welcome_back", "timer/cold_done", "cold/gone_ask")
        if round_ < 3:
            reply = alexa.intent(NO)  # still cramping: wait for the next round
            asks(reply, "wait_offer", "timer/wait_offer")
            reply = alexa.intent(YES)
            assert "timer/wait_set" in reply.keys and reply.ends_session
            clock.advance(minutes=HOUR - COLD_MINUTES)
            reply = launch(ring(timers_api, clock))
            assert reply.keys[0] == "timer/welcome_back" and "cold/round" in reply.keys
    reply = alexa.intent(YES)  # the cramping is gone: on to the heat
    assert "cold/gone" in reply.keys and step_of(reply) == HEAT_STEP
    asks(reply, "timer_offer", "timer/offer")
    reply = alexa.intent(YES)
    assert "timer/set" in reply.keys
    alexa.end_session("EXCEEDED_MAX_REPROMPTS")
    clock.advance(minutes=HEAT_MINUTES)
    reply = launch(ring(timers_api, clock))
    assert reply.keys[:2] == ("timer/welcome_back", "timer/heat_done")
    assert step_of(reply) == HEAT_STEP + 1
    while not reply.ends_session:
        reply = alexa.intent(NEXT)
    assert reply.state["finished"]

    assert sent == ["launch", "task:cold", "task:wait", "task:cold", "task:wait", "task:cold",
                    "task:heat"]
    purposes = [b["triggeringBehavior"]["operation"]["task"]["input"]["purpose"]
                for b in creates(timers_api)]
    assert purposes == ["cold", "wait", "cold", "wait", "cold", "heat"]
    assert all(b["triggeringBehavior"]["operation"]["type"] == "LAUNCH_TASK"
               for b in creates(timers_api))
    assert timers_api.timers() == []
    assert not any("error/sorry" in r.keys for r in replies)
