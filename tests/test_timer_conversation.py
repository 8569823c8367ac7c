"""Spoken timers through whole conversations, in every locale, against the Timers API stand-in.

The stand-in (tooling/standins/timers_api.py) keeps the API's rules (bearer token, ISO duration
of at most PT2H, unique labels, announcement text for the device's locale, ten timers) and is
told to fail in each way the real service can. It answers in process (tests/conftest.py): the
skill's own TimerService and error mapping run as they would over HTTP, a hang times out at
once. tests/test_timers.py tests the HTTP client itself, and that both ways answer alike.

Every assertion is on what the skill chose (template keys and their values, the routine's
state, directives and cards) and on what reached the stand-in, never on English words.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from skill.app import build_skill, event_handler
from skill.permissions import PERMISSION_TOKEN, TIMERS_SCOPE
from skill.routine import Line, Purpose, State, load_routine
from skill.speech import Voice
from tests.conftest import OUTCOMES, FakeClock, check_response, new_device
from tests.talk import (
    CANCEL_TIMER,
    GO_TO,
    HURTS,
    NEXT,
    NO,
    PAUSE_TIMER,
    REPEAT,
    RESUME_TIMER,
    SET_TIMER,
    STOP,
    TIMER_LEFT,
    YES,
    step_of,
    walk_to,
)
from tooling.standins.alexa import Alexa, Reply, Slot
from tooling.standins.timers_api import TimersApiStandIn

pytestmark = pytest.mark.every_locale

ROUTINE = load_routine()
COLD_STEP = ROUTINE.cold_step
HEAT_STEP = ROUTINE.number_of(Purpose.HEAT)
COLD_TIMER = ROUTINE.step(COLD_STEP).timer
HEAT_TIMER = ROUTINE.step(HEAT_STEP).timer
assert COLD_TIMER is not None and HEAT_TIMER is not None
SHORT, LONG = min(COLD_TIMER.choices), max(COLD_TIMER.choices)  # 15 and 20 minutes
HEAT_MINUTES = HEAT_TIMER.choices[0]
HOUR = ROUTINE.repeat_every  # minutes from the start of one cold round to the next
TIMERS_PATH = "/v1/alerts/timers"


@pytest.fixture
def runner(alexa: Alexa) -> Alexa:
    """A runner whose device has the timers permission (the stand-in accepts any token)."""
    return alexa


# --- reading a reply ------------------------------------------------------------------------


def lines(reply: Reply) -> list[Line]:
    """Every line the reply speaks, the prompt last."""
    outcome = reply.outcome
    assert outcome is not None, "the observer saw no outcome for this reply"
    return [*outcome.lines, *((outcome.prompt,) if outcome.prompt else ())]


def said(reply: Reply, key: str) -> Mapping[str, Any]:
    """The values of the one line `key` the reply speaks (fails if it is not spoken once)."""
    found = [line for line in lines(reply) if line.key == key]
    assert len(found) == 1, f"{key} spoken {len(found)} times in {reply.keys}"
    return found[0].args


def asks(reply: Reply, question: str, key: str) -> None:
    """The reply waits on `question`, asked last with `key`."""
    assert reply.state.get("pending") == question, reply.keys
    assert reply.keys[-1] == key and not reply.ends_session


def goes_on_at(reply: Reply, step: int) -> None:
    """The routine carries on at `step`: the session stays open with a prompt."""
    assert step_of(reply) == step and not reply.ends_session, reply.keys


def creates(api: TimersApiStandIn) -> list[dict[str, Any]]:
    """The bodies of every timer the skill asked the stand-in to create."""
    return [r.body for r in api.requests if (r.method, r.path) == ("POST", TIMERS_PATH)]


def kept_timers(reply: Reply) -> list[dict[str, Any]]:
    timers: list[dict[str, Any]] = reply.state.get("timers") or []
    return timers


def rendered(locale: str, key: str, **args: Any) -> str:
    """A plain-text template as the skill renders it for `locale` (labels, announcements)."""
    return Voice(locale, State(), ROUTINE).text(key, **args)


def at_cold(alexa: Alexa) -> Reply:
    reply = walk_to(alexa, COLD_STEP)
    assert "step/cold" in reply.keys
    asks(reply, "timer_offer", "timer/offer")
    return reply


# --- setting timers -------------------------------------------------------------------------


def test_yes_sets_a_fifteen_minute_cold_timer_that_announces(
    runner: Alexa, timers_api: TimersApiStandIn, clock: FakeClock
) -> None:
    """Yes to the offer sets the shortest compress time, announcing in the device's locale that
    the compress comes off (never on bare skin), and the round runs from the timer. (A device
    without timers that bring the skill back, LAUNCH_TASK: tests/test_launch_task.py has those.)"""
    timers_api.launch_task = False
    at_cold(runner)
    reply = runner.intent(YES)
    assert said(reply, "timer/set") == {"purpose": "cold", "minutes": SHORT}
    goes_on_at(reply, COLD_STEP)
    [timer] = timers_api.timers()
    assert timer.duration_s == SHORT * 60
    [kept] = kept_timers(reply)
    assert (kept["id"], kept["purpose"], kept["minutes"]) == (timer.id, "cold", SHORT)
    now = clock.now.timestamp()
    assert reply.state["round_started_at"] == now
    assert reply.state["round_ends_at"] == kept["ends_at"] == now + SHORT * 60
    refused, body = creates(timers_api)  # LAUNCH_TASK refused, then the same timer announcing
    assert refused["timerLabel"] == body["timerLabel"]
    assert body["timerLabel"] == rendered(runner.locale, "timer/label", purpose="cold", round=1)
    operation = body["triggeringBehavior"]["operation"]
    assert operation["type"] == "ANNOUNCE"
    assert operation["textToAnnounce"] == [
        {"locale": runner.locale,
         "text": rendered(runner.locale, "timer/announce", purpose="cold")}]
    assert body["creationBehavior"]["displayExperience"]["visibility"] == "VISIBLE"


@pytest.mark.parametrize("slots", [
    {"minutes": "20"}, {"duration": "PT20M"}, {"minutes": "20", "duration": None},
])
def test_twenty_minutes_by_number_or_duration(runner: Alexa, timers_api: TimersApiStandIn,
                                              slots: dict[str, str | None]) -> None:
    """"Twenty", "make it twenty minutes" and a duration all set the longest compress time."""
    at_cold(runner)
    reply = runner.intent(SET_TIMER, {k: Slot(v) for k, v in slots.items()})
    assert said(reply, "timer/set") == {"purpose": "cold", "minutes": LONG}
    assert [t.duration_s for t in timers_api.timers()] == [LONG * 60]


def test_a_length_outside_the_range_is_asked_again(runner: Alexa,
                                                   timers_api: TimersApiStandIn) -> None:
    """Thirty minutes is not what the compress needs: the choice is offered again, no call."""
    at_cold(runner)
    reply = runner.intent(SET_TIMER, {"minutes": "30"})
    assert said(reply, "timer/choose") == {"heard": 30}
    asks(reply, "timer_offer", "timer/offer")
    assert timers_api.requests == []


def test_no_thanks_keeps_going_and_a_timer_can_be_asked_for_later(
    runner: Alexa, timers_api: TimersApiStandIn
) -> None:
    """No: the routine goes on at the cold step with the time to keep it on; "set a timer"
    later still sets one."""
    at_cold(runner)
    declined = runner.intent(NO)
    assert "timer/declined" in declined.keys and declined.state["pending"] is None
    goes_on_at(declined, COLD_STEP)
    assert timers_api.requests == []
    later = runner.intent(SET_TIMER)
    assert said(later, "timer/set") == {"purpose": "cold", "minutes": SHORT}


def test_never_two_timers_for_the_same_interval(runner: Alexa,
                                                timers_api: TimersApiStandIn) -> None:
    """Asking again while one runs says how long is left instead of setting another."""
    at_cold(runner)
    runner.intent(YES)
    again = runner.intent(SET_TIMER, {"minutes": "20"})
    assert said(again, "timer/left") == {"purpose": "cold", "minutes": SHORT, "paused": False}
    assert "timer/set" not in again.keys
    assert len(timers_api.timers()) == len(creates(timers_api)) == 1


def test_heat_offers_fifteen_minutes(runner: Alexa, timers_api: TimersApiStandIn) -> None:
    """The heat step offers its timer, which announces in the locale that the heat is done
    (on a device without LAUNCH_TASK: tests/test_launch_task.py has the others)."""
    timers_api.launch_task = False
    reply = walk_to(runner, HEAT_STEP)
    assert "step/heat" in reply.keys
    asks(reply, "timer_offer", "timer/offer")
    assert said(runner.intent(YES), "timer/set") == {"purpose": "heat", "minutes": HEAT_MINUTES}
    _refused, body = creates(timers_api)
    assert body["duration"] == f"PT{HEAT_MINUTES}M"
    assert body["triggeringBehavior"]["operation"]["textToAnnounce"] == [
        {"locale": runner.locale,
         "text": rendered(runner.locale, "timer/announce", purpose="heat")}]


def test_no_timer_offer_at_steps_without_one(runner: Alexa,
                                             timers_api: TimersApiStandIn) -> None:
    """"Set a timer" at the stretch says there's nothing to time there, and sets nothing."""
    walk_to(runner, 2)
    reply = runner.intent(SET_TIMER)
    assert "timer/nothing_to_time" in reply.keys
    goes_on_at(reply, 2)
    assert timers_api.requests == []


# --- how long, cancel, pause ----------------------------------------------------------------


def test_how_long_is_left_with_and_without_a_timer(runner: Alexa, clock: FakeClock) -> None:
    """"How long is left" counts down on the request clock; with no timer it says so."""
    at_cold(runner)
    assert "timer/none" in runner.intent(TIMER_LEFT).keys
    runner.intent(YES)
    clock.advance(minutes=6)
    left = runner.intent(TIMER_LEFT)
    assert said(left, "timer/left") == {"purpose": "cold", "minutes": SHORT - 6,
                                        "paused": False}


def test_cancel_with_and_without_a_timer(runner: Alexa, timers_api: TimersApiStandIn) -> None:
    """Cancel removes the Alexa timer and the skill's record of it; with none it says so."""
    at_cold(runner)
    assert "timer/none" in runner.intent(CANCEL_TIMER).keys
    runner.intent(YES)
    reply = runner.intent(CANCEL_TIMER)
    assert said(reply, "timer/changed") == {"op": "cancel", "purpose": "cold", "result": "done"}
    assert timers_api.timers() == [] and kept_timers(reply) == []
    assert "timer/none" in runner.intent(TIMER_LEFT).keys


def test_pause_and_resume(runner: Alexa, timers_api: TimersApiStandIn, clock: FakeClock) -> None:
    """Pause holds the time left however long it waits; resume runs it on from there."""
    at_cold(runner)
    runner.intent(YES)
    clock.advance(minutes=5)
    paused = runner.intent(PAUSE_TIMER)
    assert said(paused, "timer/changed") == {"op": "pause", "purpose": "cold", "result": "done"}
    assert [t.status for t in timers_api.timers()] == ["PAUSED"]
    assert kept_timers(paused)[0]["paused_left"] == (SHORT - 5) * 60
    clock.advance(minutes=30)
    left = runner.intent(TIMER_LEFT)
    assert said(left, "timer/left") == {"purpose": "cold", "minutes": SHORT - 5, "paused": True}
    resumed = runner.intent(RESUME_TIMER)
    assert said(resumed, "timer/changed") == {"op": "resume", "purpose": "cold",
                                              "result": "done"}
    assert [t.status for t in timers_api.timers()] == ["ON"]
    left = runner.intent(TIMER_LEFT)
    assert said(left, "timer/left") == {"purpose": "cold", "minutes": SHORT - 5, "paused": False}


def test_it_hurts_more_cancels_the_step_timer(runner: Alexa,
                                              timers_api: TimersApiStandIn) -> None:
    """Taking the compress off because it hurts also cancels its timer, quietly."""
    at_cold(runner)
    runner.intent(YES)
    reply = runner.intent(HURTS)
    assert {"safety/stop/cold", "safety/severe_pain_doctor"} <= set(reply.keys)
    assert "timer/changed" not in reply.keys  # the stop line says it all
    assert reply.state["hands_off"] and kept_timers(reply) == []
    assert timers_api.timers() == []
    assert [r.method for r in timers_api.requests] == ["POST", "DELETE"]


def test_a_timer_cancelled_elsewhere_is_let_go(runner: Alexa,
                                               timers_api: TimersApiStandIn) -> None:
    """If the timer is already gone on the device, cancelling says it had finished."""
    at_cold(runner)
    runner.intent(YES)
    for timer in timers_api.timers():  # "Alexa, cancel my timer", said outside the skill
        timers_api.answer("DELETE", f"{TIMERS_PATH}/{timer.id}",
                          {"Authorization": "Bearer someone"}, None)
    reply = runner.intent(CANCEL_TIMER)
    assert said(reply, "timer/changed") == {"op": "cancel", "purpose": "cold",
                                            "result": "not_found"}
    assert kept_timers(reply) == []
    goes_on_at(reply, COLD_STEP)


# --- hourly rounds --------------------------------------------------------------------------


def come_back(alexa: Alexa) -> Reply:
    """The runner opens the skill again (an announcement sent them back): a new session."""
    back = alexa.launch()
    assert back.keys[0] == "timer/welcome_back", back.keys
    return back


def test_not_gone_plans_the_next_round_an_hour_after_the_last_began(
    runner: Alexa, timers_api: TimersApiStandIn, clock: FakeClock
) -> None:
    """After a round: "not gone" offers a timer for an hour after that round began; back then,
    a new round with its own offer, and every timer has a label of its own."""
    at_cold(runner)
    runner.intent(SET_TIMER, {"minutes": str(LONG)})
    clock.advance(minutes=LONG)
    back = come_back(runner)
    assert "timer/cold_done" in back.keys
    asks(back, "cramp_gone", "cold/gone_ask")
    wait = runner.intent(NO)
    assert said(wait, "cold/wait") == {"minutes": HOUR - LONG}
    asks(wait, "wait_offer", "timer/wait_offer")
    assert wait.state["cramp_stays"]
    waiting = runner.intent(YES)
    assert said(waiting, "timer/set") == {"purpose": "wait", "minutes": HOUR - LONG}
    assert "timer/wait_set" in waiting.keys and waiting.ends_session
    clock.advance(minutes=HOUR - LONG)
    next_round = come_back(runner)
    assert said(next_round, "cold/round") == {"round": 2}
    asks(next_round, "timer_offer", "timer/offer")
    assert next_round.state["cold_round"] == 2
    assert next_round.state["round_started_at"] == clock.now.timestamp()
    runner.intent(YES)
    labels = [body["timerLabel"] for body in creates(timers_api)]
    assert len(labels) == len(set(labels)) == 3  # two compress rounds and the wait


def test_three_cold_rounds_an_hour_apart_then_heat(
    runner: Alexa, timers_api: TimersApiStandIn, clock: FakeClock
) -> None:
    """Each round ends with the question whether the cramping is completely gone; "not gone"
    plans the next an hour after the last began; "gone" after the third gives heat."""
    at_cold(runner)
    for round_number in (1, 2, 3):
        timed = runner.intent(SET_TIMER, {"minutes": str(LONG)})
        assert said(timed, "timer/set") == {"purpose": "cold", "minutes": LONG}
        clock.advance(minutes=LONG)
        back = come_back(runner)
        assert "timer/cold_done" in back.keys, f"round {round_number}: {back.keys}"
        asks(back, "cramp_gone", "cold/gone_ask")
        if round_number == 3:
            break
        wait = runner.intent(NO)
        assert said(wait, "cold/wait") == {"minutes": HOUR - LONG}
        assert said(runner.intent(YES), "timer/set") == {"purpose": "wait",
                                                         "minutes": HOUR - LONG}
        clock.advance(minutes=HOUR - LONG)
        next_round = come_back(runner)
        assert said(next_round, "cold/round") == {"round": round_number + 1}
        asks(next_round, "timer_offer", "timer/offer")
    heat = runner.intent(YES)
    assert "cold/gone" in heat.keys and "step/heat" in heat.keys
    asks(heat, "timer_offer", "timer/offer")
    assert step_of(heat) == HEAT_STEP
    labels = [body["timerLabel"] for body in creates(timers_api)]
    assert len(labels) == len(set(labels)) == 5  # three compress rounds, two waits


def end_a_round_without_a_wait_timer(runner: Alexa, clock: FakeClock) -> None:
    """A timed round, "not gone", no wait timer: the session ends with when to come back."""
    at_cold(runner)
    runner.intent(YES)
    clock.advance(minutes=SHORT)
    come_back(runner)
    runner.intent(NO)  # not gone
    later = runner.intent(NO)  # no wait timer
    assert said(later, "cold/come_back") == {"minutes": HOUR - SHORT}
    assert later.ends_session


def test_late_return_starts_the_next_round_at_once(runner: Alexa, clock: FakeClock) -> None:
    """Back after the hour has passed (no wait timer): straight into the next round."""
    end_a_round_without_a_wait_timer(runner, clock)
    clock.advance(minutes=HOUR - SHORT + 5)
    back = come_back(runner)
    assert said(back, "cold/round") == {"round": 2}
    asks(back, "timer_offer", "timer/offer")
    assert back.state["round_started_at"] == clock.now.timestamp()


def test_early_return_says_how_long_until_the_next_round(runner: Alexa,
                                                         clock: FakeClock) -> None:
    """Back too early: how long until the next round, and the wait timer offered again."""
    end_a_round_without_a_wait_timer(runner, clock)
    clock.advance(minutes=10)
    back = come_back(runner)
    left = HOUR - SHORT - 10
    assert said(back, "cold/wait") == {"minutes": left}
    assert said(back, "timer/wait_offer") == {"minutes": left}
    asks(back, "wait_offer", "timer/wait_offer")
    assert "cold/round" not in back.keys


def test_resume_mid_timer_says_how_long_is_left(runner: Alexa, clock: FakeClock) -> None:
    """Stopped mid-timer: the welcome back names the step's timer and the minutes left."""
    at_cold(runner)
    runner.intent(YES)
    runner.intent(STOP)
    clock.advance(minutes=9)
    back = runner.launch()
    assert said(back, "memory/welcome_back")["timer"] == {
        "purpose": "cold", "minutes": SHORT - 9, "paused": False}
    asks(back, "resume", "memory/resume_ask")
    assert step_of(back) == COLD_STEP


def test_back_at_a_step_whose_timer_is_set_hears_only_the_time_left(
    runner: Alexa, clock: FakeClock
) -> None:
    """Arriving again at the cold step while its timer runs or is paused (go to, or carrying
    on after a break): the header, the time left and the timed prompt; the instruction again
    only when asked to repeat it (they are already doing it)."""
    at_cold(runner)
    runner.intent(YES)
    timed = ("step/header", "timer/left", "prompt/timed")
    runner.intent(GO_TO, {"number": "2"})
    assert runner.intent(GO_TO, {"number": str(COLD_STEP)}).keys == timed
    again = runner.intent(REPEAT)
    assert again.keys == ("step/header", "step/cold", "timer/left", "prompt/timed")
    runner.intent(PAUSE_TIMER)
    runner.intent(GO_TO, {"number": "2"})
    paused = runner.intent(GO_TO, {"number": str(COLD_STEP)})
    assert paused.keys == timed and said(paused, "timer/left")["paused"] is True
    runner.intent(RESUME_TIMER)
    runner.intent(STOP)
    clock.advance(minutes=3)
    asks(runner.launch(), "resume", "memory/resume_ask")
    carried_on = runner.intent(YES)
    assert carried_on.keys == timed and step_of(carried_on) == COLD_STEP


def test_heat_timer_done_moves_on(runner: Alexa, clock: FakeClock) -> None:
    """Back after the heat timer: it says the heat is done and goes on to the next step."""
    walk_to(runner, HEAT_STEP)
    runner.intent(YES)
    clock.advance(minutes=HEAT_MINUTES + 1)
    back = come_back(runner)
    assert back.keys[:2] == ("timer/welcome_back", "timer/heat_done")
    assert f"step/{ROUTINE.step(HEAT_STEP + 1).id}" in back.keys
    goes_on_at(back, HEAT_STEP + 1)


# --- permission by voice --------------------------------------------------------------------


@pytest.fixture
def no_permission(runner: Alexa, timers_api: TimersApiStandIn) -> Alexa:
    """A runner who has not yet allowed timers: the API answers 401 to their token."""
    timers_api.revoke(runner.device.api_access_token)
    return runner


def ask_for_permission(alexa: Alexa, api: TimersApiStandIn) -> Reply:
    """At the cold step, "twenty minutes": the 401 hands over to Alexa's permission question."""
    at_cold(alexa)
    asked = alexa.intent(SET_TIMER, {"minutes": str(LONG)})
    assert asked.keys == ("timer/need_permission",) and asked.hands_over
    [directive] = asked.directives
    assert directive["type"] == "Connections.SendRequest" and directive["name"] == "AskFor"
    assert directive["token"] == PERMISSION_TOKEN
    assert directive["payload"]["permissionScopes"] == [
        {"permissionScope": TIMERS_SCOPE, "consentLevel": "ACCOUNT"}]
    assert "shouldEndSession" not in asked.response and not asked.reprompt_ssml
    assert (asked.state["wanted_purpose"], asked.state["wanted_minutes"]) == ("cold", LONG)
    assert api.timers() == [] and len(creates(api)) == 1
    return asked


def test_accepted_sets_the_timer_straight_away(no_permission: Alexa,
                                               timers_api: TimersApiStandIn) -> None:
    """401, Alexa asks, the user says yes: the timer asked for is set and the routine goes on."""
    alexa = no_permission
    ask_for_permission(alexa, timers_api)
    timers_api.grant(alexa.device.api_access_token)
    reply = alexa.permission_answer("ACCEPTED")
    assert said(reply, "timer/set") == {"purpose": "cold", "minutes": LONG}
    goes_on_at(reply, COLD_STEP)
    assert reply.state["wanted_purpose"] is None
    assert [t.duration_s for t in timers_api.timers()] == [LONG * 60]


def failed_permission_answer(alexa: Alexa, code: str) -> Reply:
    """Alexa's Connections.Response when its own permission dialog failed (a non-200 status):
    Alexa.permission_answer always answers 200, so this one is spelled out."""
    return alexa.request({
        "type": "Connections.Response", "name": "AskFor",
        "status": {"code": code, "message": "error"},
        "payload": {"permissionScope": TIMERS_SCOPE, "status": "ACCEPTED"},
        "token": PERMISSION_TOKEN,
    })


@pytest.mark.parametrize(("answer", "heard"), [
    ("DENIED", "denied"), ("NOT_ANSWERED", "not_answered"), ("400", "error"), ("500", "error"),
])
def test_refused_or_failed_permission_sends_the_card_and_the_duration(
    no_permission: Alexa, timers_api: TimersApiStandIn, answer: str, heard: str
) -> None:
    """Denied, unanswered, or Alexa's error: the consent card, and how long to time it."""
    alexa = no_permission
    ask_for_permission(alexa, timers_api)
    reply = (failed_permission_answer(alexa, answer) if answer.isdigit()
             else alexa.permission_answer(answer))
    assert said(reply, "timer/permission_refused") == {"status": heard}
    assert said(reply, "timer/time_yourself") == {"purpose": "cold", "minutes": LONG}
    assert reply.card and reply.card["type"] == "AskForPermissionsConsent"
    assert reply.card["permissions"] == [TIMERS_SCOPE]
    goes_on_at(reply, COLD_STEP)
    assert timers_api.timers() == []


def test_no_second_card_when_alexa_already_sent_one(no_permission: Alexa,
                                                    timers_api: TimersApiStandIn) -> None:
    """isCardThrown: Alexa sent the consent card itself, so the skill doesn't send another."""
    alexa = no_permission
    ask_for_permission(alexa, timers_api)
    reply = alexa.permission_answer("DENIED", card_thrown=True)
    assert not reply.card or reply.card["type"] != "AskForPermissionsConsent"
    assert said(reply, "timer/time_yourself") == {"purpose": "cold", "minutes": LONG}


def test_a_stray_permission_answer_just_continues(runner: Alexa,
                                                  timers_api: TimersApiStandIn) -> None:
    """A Connections.Response nobody asked for says the current step again and sets nothing."""
    walk_to(runner, 2)
    reply = runner.permission_answer("ACCEPTED")
    assert "step/stretch" in reply.keys
    goes_on_at(reply, 2)
    assert timers_api.requests == []


# --- failures never end the routine ---------------------------------------------------------


@pytest.mark.parametrize(("status", "reason"), [
    (400, "bad_request"), (403, "forbidden"), (404, "unexpected_status"),
    (500, "server_error"), (504, "device_offline"), (429, "unexpected_status"),
])
def test_every_error_code_leaves_a_spoken_duration(runner: Alexa, timers_api: TimersApiStandIn,
                                                   status: int, reason: str) -> None:
    """Each error the API can answer: why, the duration to time by hand, the routine goes on."""
    at_cold(runner)
    timers_api.respond_with(status, times=None)
    reply = runner.intent(YES)
    assert said(reply, "timer/failed") == {"reason": reason, "purpose": "cold"}
    assert said(reply, "timer/time_yourself") == {"purpose": "cold", "minutes": SHORT}
    goes_on_at(reply, COLD_STEP)
    assert kept_timers(reply) == []
    timers_api.clear_faults()
    asks(runner.intent(NEXT), "cramp_gone", "cold/gone_ask")


def test_the_ten_timer_limit_is_explained(runner: Alexa, timers_api: TimersApiStandIn) -> None:
    """Ten timers on the device already: the skill says so and gives the duration."""
    timers_api.personal_timers = 10
    at_cold(runner)
    reply = runner.intent(YES)
    assert said(reply, "timer/failed") == {"reason": "limit_reached", "purpose": "cold"}
    assert said(reply, "timer/time_yourself") == {"purpose": "cold", "minutes": SHORT}
    goes_on_at(reply, COLD_STEP)


def closed_port() -> int:
    with socket.socket() as sock:  # a port that nothing listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def over_http(clock: FakeClock, locale: str) -> Callable[[str], Alexa]:
    """Alexa on the skill with its real Timers client (HTTP), for a device whose apiEndpoint
    is `endpoint`: faults that only a socket has (nothing listening) reach the skill."""
    handle = event_handler(build_skill(store=None, observe=OUTCOMES.observe))

    def send(envelope: dict[str, Any]) -> dict[str, Any]:
        raw = handle(envelope, None)
        check_response(envelope, raw)
        return raw

    def make(endpoint: str) -> Alexa:
        return Alexa(send, locale=locale, device=new_device(api_endpoint=endpoint), clock=clock,
                     outcome_of=OUTCOMES.pop)

    return make


@pytest.mark.parametrize(("fault", "reason"), [
    ("hang", "timeout"), ("drop", "connection_dropped"), ("refused", "connection_refused"),
    ("no endpoint", "no_endpoint"),
])
def test_a_dead_or_slow_service_still_gets_an_answer(
    make_alexa: Callable[..., Alexa], over_http: Callable[[str], Alexa],
    timers_api: TimersApiStandIn, fault: str, reason: str
) -> None:
    """Hanging past the timeout, dropping the connection, nothing listening at all, or no
    apiEndpoint in the request: the runner hears how long to time it, without waiting."""
    if fault == "refused":
        alexa = over_http(f"http://127.0.0.1:{closed_port()}")
    elif fault == "no endpoint":
        alexa = make_alexa(device=new_device(api_endpoint=""))
    else:
        alexa = make_alexa()
        if fault == "hang":
            timers_api.hang(times=None)
        else:
            timers_api.drop_connection(times=None)
    at_cold(alexa)
    started = time.monotonic()
    reply = alexa.intent(YES)
    assert time.monotonic() - started < 1.0, "the in-process seam answers a hang at once"
    assert said(reply, "timer/failed") == {"reason": reason, "purpose": "cold"}
    assert said(reply, "timer/time_yourself") == {"purpose": "cold", "minutes": SHORT}
    goes_on_at(reply, COLD_STEP)


def test_a_failing_cancel_says_so_and_keeps_going(runner: Alexa,
                                                  timers_api: TimersApiStandIn) -> None:
    """Cancel against a failing service: it says it couldn't, keeps the timer, carries on."""
    at_cold(runner)
    runner.intent(YES)
    timers_api.respond_with(500, times=None)
    reply = runner.intent(CANCEL_TIMER)
    assert said(reply, "timer/change_failed") == {"op": "cancel"}
    assert len(kept_timers(reply)) == 1  # still on the device, as far as anyone knows
    goes_on_at(reply, COLD_STEP)

