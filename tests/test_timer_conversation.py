"""Spoken timers through whole conversations: real HTTP to a stand-in of Alexa's Timers API.

The stand-in on 127.0.0.1 enforces the API's rules (bearer token, ISO duration of at most
PT2H, unique labels of at most 256 characters, announcement text for the locale, ten timers)
and is told to fail in each way the real service can.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from skill.permissions import TIMERS_SCOPE
from tests.conftest import FakeClock, new_device
from tests.talk import (
    CANCEL_TIMER,
    HURTS,
    NEXT,
    NO,
    PAUSE_TIMER,
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

OFFER = "Shall I time it?"


@pytest.fixture
def api() -> Iterator[TimersApiStandIn]:
    """A stand-in for this test alone, where the test's device already has the permission."""
    with TimersApiStandIn() as standin:
        yield standin


@pytest.fixture
def runner(make_alexa: Callable[..., Alexa], api: TimersApiStandIn) -> Alexa:
    return make_alexa(device=new_device(api))


def at_cold(alexa: Alexa) -> Reply:
    reply = walk_to(alexa, 4)
    assert OFFER in reply.speech
    return reply


def announcements(api: TimersApiStandIn) -> list[dict[str, Any]]:
    created = [r.body for r in api.requests
               if r.method == "POST" and r.path == "/v1/alerts/timers"]
    return created


# --- Setting timers -------------------------------------------------------------------

def test_yes_sets_a_fifteen_minute_cold_timer_that_announces(runner: Alexa,
                                                            api: TimersApiStandIn) -> None:
    """Yes to the offer sets 15 minutes with an announcement to take the compress off."""
    at_cold(runner)
    reply = runner.intent(YES)
    assert "Timer set for 15 minutes" in reply.speech and not reply.ends_session
    [timer] = api.timers()
    assert timer.duration_s == 15 * 60
    [body] = announcements(api)
    operation = body["triggeringBehavior"]["operation"]
    assert operation["type"] == "ANNOUNCE"
    text = operation["textToAnnounce"][0]
    assert text["locale"] == "en-US"
    assert "take the cold compress off" in text["text"] and "bare skin" in text["text"]
    assert body["creationBehavior"]["displayExperience"]["visibility"] == "VISIBLE"


@pytest.mark.parametrize("slots", [
    {"minutes": "20"}, {"duration": "PT20M"}, {"minutes": "20", "duration": None},
])
def test_twenty_minutes_by_number_or_duration(runner: Alexa, api: TimersApiStandIn,
                                              slots: dict[str, str | None]) -> None:
    """"Twenty", "make it twenty minutes" and a duration all set 20 minutes."""
    at_cold(runner)
    reply = runner.intent(SET_TIMER, {k: Slot(v) for k, v in slots.items()})
    assert "Timer set for 20 minutes" in reply.speech
    assert [t.duration_s for t in api.timers()] == [20 * 60]


def test_a_length_outside_the_range_is_asked_again(runner: Alexa, api: TimersApiStandIn) -> None:
    """Thirty minutes is not what the compress needs: the choice is offered again."""
    at_cold(runner)
    reply = runner.intent(SET_TIMER, {"minutes": "30"})
    assert "15 to 20 minutes, not 30" in reply.speech and OFFER in reply.speech
    assert api.timers() == []


def test_no_thanks_keeps_going_and_a_timer_can_be_asked_for_later(
    runner: Alexa, api: TimersApiStandIn
) -> None:
    """No: the routine goes on with the duration spoken; "set a timer" later still works."""
    at_cold(runner)
    declined = runner.intent(NO)
    assert "keep it on for 15 to 20 minutes" in declined.speech and step_of(declined) == 4
    assert api.timers() == []
    assert "Timer set for 15 minutes" in runner.intent(SET_TIMER).speech


def test_never_two_timers_for_the_same_interval(runner: Alexa, api: TimersApiStandIn) -> None:
    """Asking again while one runs says how long is left instead of setting another."""
    at_cold(runner)
    runner.intent(YES)
    again = runner.intent(SET_TIMER, {"minutes": "20"})
    assert "About 15 minutes left on the cold compress timer" in again.speech
    assert len(api.timers()) == 1


def test_heat_offers_fifteen_minutes(runner: Alexa, api: TimersApiStandIn) -> None:
    """The heat step offers a 15 minute timer that announces the heat is done."""
    reply = walk_to(runner, 5)
    assert "Shall I set a 15 minute timer?" in reply.speech
    assert "Timer set for 15 minutes" in runner.intent(YES).speech
    [body] = announcements(api)
    assert "heat are done" in json.dumps(body)


def test_no_timer_offer_at_steps_without_one(runner: Alexa) -> None:
    """"Set a timer" at the stretch says there's nothing to time there."""
    walk_to(runner, 2)
    assert "nothing to time at this step" in runner.intent(SET_TIMER).speech


# --- How long, cancel, pause --------------------------------------------------------------

def test_how_long_is_left_with_and_without_a_timer(runner: Alexa, clock: FakeClock) -> None:
    """"How long is left" counts down on the request clock; with no timer it says so."""
    at_cold(runner)
    assert "There's no timer running" in runner.intent(TIMER_LEFT).speech
    runner.intent(YES)
    clock.advance(minutes=6)
    assert "About 9 minutes left on the cold compress timer" in runner.intent(TIMER_LEFT).speech


def test_cancel_with_and_without_a_timer(runner: Alexa, api: TimersApiStandIn) -> None:
    """Cancel removes the Alexa timer; with none running it says so."""
    at_cold(runner)
    assert "There's no timer running" in runner.intent(CANCEL_TIMER).speech
    runner.intent(YES)
    reply = runner.intent(CANCEL_TIMER)
    assert "I've cancelled the cold compress timer" in reply.speech
    assert api.timers() == []
    assert "There's no timer running" in runner.intent(TIMER_LEFT).speech


def test_pause_and_resume(runner: Alexa, api: TimersApiStandIn, clock: FakeClock) -> None:
    """Pause holds the time left; resume runs it on from there."""
    at_cold(runner)
    runner.intent(YES)
    clock.advance(minutes=5)
    assert "I've paused the cold compress timer" in runner.intent(PAUSE_TIMER).speech
    assert api.timers()[0].status == "PAUSED"
    clock.advance(minutes=30)
    assert "paused, with 10 minutes left" in runner.intent(TIMER_LEFT).speech
    assert "running again" in runner.intent(RESUME_TIMER).speech
    assert "About 10 minutes left" in runner.intent(TIMER_LEFT).speech


def test_it_hurts_more_cancels_the_step_timer(runner: Alexa, api: TimersApiStandIn) -> None:
    """Taking the compress off because it hurts also cancels its timer, quietly."""
    at_cold(runner)
    runner.intent(YES)
    reply = runner.intent(HURTS)
    assert "Take the cold compress off" in reply.speech
    assert api.timers() == []


def test_a_timer_cancelled_elsewhere_is_let_go(runner: Alexa, api: TimersApiStandIn) -> None:
    """If the timer is already gone on the device, cancelling says it had finished."""
    at_cold(runner)
    runner.intent(YES)
    for timer in api.timers():  # "Alexa, cancel my timer", said outside the skill
        request = urllib.request.Request(f"{api.url}/v1/alerts/timers/{timer.id}",
                                         method="DELETE",
                                         headers={"Authorization": "Bearer someone"})
        urllib.request.urlopen(request, timeout=5).close()
    assert "had already finished" in runner.intent(CANCEL_TIMER).speech


# --- Hourly rounds ----------------------------------------------------------------------

def test_three_cold_rounds_an_hour_apart_then_heat(
    runner: Alexa, api: TimersApiStandIn, clock: FakeClock
) -> None:
    """Each round: compress timer; "not gone" plans the next an hour after the last began."""
    at_cold(runner)
    for round_number in (1, 2, 3):
        assert "Timer set for 20 minutes" in runner.intent(SET_TIMER, {"minutes": "20"}).speech
        clock.advance(minutes=20)
        back = runner.launch()  # the announcement sent them back: a new session
        assert "cold compress time is up" in back.speech
        assert "Is the cramping completely gone?" in back.speech
        if round_number == 3:
            break
        wait = runner.intent(NO)
        assert "The next one is in 40 minutes" in wait.speech
        assert "Timer set: the next cold round is in 40 minutes" in runner.intent(YES).speech
        clock.advance(minutes=40)
        next_round = runner.launch()
        assert f"Time for cold round {round_number + 1}" in next_round.speech
        assert "never straight on bare skin" in next_round.speech
        assert OFFER in next_round.speech
    heat = runner.intent(YES)
    assert "Step 5 of 8" in heat.speech and "Shall I set a 15 minute timer?" in heat.speech
    labels = [r.body.get("timerLabel") for r in api.requests if r.method == "POST"
              and r.path == "/v1/alerts/timers"]
    assert len(labels) == len(set(labels)) == 5  # three compress rounds, two waits


def test_late_return_starts_the_next_round_at_once(runner: Alexa, clock: FakeClock) -> None:
    """Back after the hour has passed (no wait timer): straight into the next round."""
    at_cold(runner)
    runner.intent(YES)
    clock.advance(minutes=15)
    runner.launch()
    runner.intent(NO)  # not gone
    runner.intent(NO)  # no wait timer
    clock.advance(minutes=50)
    assert "Time for cold round 2" in runner.launch().speech


def test_early_return_says_how_long_until_the_next_round(runner: Alexa, clock: FakeClock) -> None:
    """Back too early: how long until the next round, and the timer offer again."""
    at_cold(runner)
    runner.intent(YES)
    clock.advance(minutes=15)
    runner.launch()
    runner.intent(NO)
    runner.intent(NO)
    clock.advance(minutes=10)
    back = runner.launch()
    assert "The next one is in 35 minutes" in back.speech
    assert "Shall I set a timer for 35 minutes" in back.speech


def test_resume_mid_timer_says_how_long_is_left(runner: Alexa, clock: FakeClock) -> None:
    """Stopped mid-timer: the welcome back says the step and the minutes left."""
    at_cold(runner)
    runner.intent(YES)
    runner.intent(STOP)
    clock.advance(minutes=9)
    back = runner.launch()
    assert "step 4: the cold compress, with 6 minutes left on the cold compress timer" in (
        back.speech)


def test_heat_timer_done_moves_on(runner: Alexa, clock: FakeClock) -> None:
    """Back after the heat timer: it says so and goes on to water."""
    walk_to(runner, 5)
    runner.intent(YES)
    clock.advance(minutes=16)
    back = runner.launch()
    assert "15 minutes of heat are done" in back.speech and "Step 6 of 8" in back.speech


# --- Permission by voice -----------------------------------------------------------------

@pytest.fixture
def no_permission(make_alexa: Callable[..., Alexa]) -> Iterator[tuple[Alexa, TimersApiStandIn]]:
    with TimersApiStandIn(tokens=set()) as standin:
        yield make_alexa(device=new_device(standin)), standin


def permission_answer(alexa: Alexa, status: str, *, code: str = "200",
                      card_thrown: bool = False) -> Reply:
    return alexa.request({
        "type": "Connections.Response", "name": "AskFor",
        "status": {"code": code, "message": "OK" if code == "200" else "error"},
        "payload": {"permissionScope": TIMERS_SCOPE, "status": status,
                    "isCardThrown": card_thrown},
        "token": "cramp-coach-timers",
    })


def ask_for_permission(alexa: Alexa) -> Reply:
    at_cold(alexa)
    asked = alexa.intent(SET_TIMER, {"minutes": "20"})
    assert "I need your permission to set timers" in asked.speech
    [directive] = asked.directives
    assert directive["type"] == "Connections.SendRequest" and directive["name"] == "AskFor"
    assert directive["payload"]["permissionScopes"] == [
        {"permissionScope": TIMERS_SCOPE, "consentLevel": "ACCOUNT"}]
    assert "shouldEndSession" not in asked.response and not asked.reprompt_ssml
    return asked


def test_accepted_sets_the_timer_straight_away(no_permission: tuple[Alexa, TimersApiStandIn],
                                               ) -> None:
    """401, Alexa asks, the user says yes: the 20 minute timer is set and the routine goes on."""
    alexa, api = no_permission
    ask_for_permission(alexa)
    api.grant(alexa.device.api_access_token)
    reply = permission_answer(alexa, "ACCEPTED")
    assert "Timer set for 20 minutes" in reply.speech and not reply.ends_session
    assert len(api.timers()) == 1


@pytest.mark.parametrize(("status", "code"), [
    ("DENIED", "200"), ("NOT_ANSWERED", "200"), ("ACCEPTED", "400"), ("ACCEPTED", "500"),
])
def test_refused_or_failed_permission_sends_the_card_and_the_duration(
    no_permission: tuple[Alexa, TimersApiStandIn], status: str, code: str
) -> None:
    """Denied, unanswered, or Alexa's error: the consent card, and how long to time it."""
    alexa, api = no_permission
    ask_for_permission(alexa)
    reply = permission_answer(alexa, status, code=code)
    assert "time it yourself: 20 minutes with the compress on" in reply.speech
    assert reply.card and reply.card["type"] == "AskForPermissionsConsent"
    assert reply.card["permissions"] == [TIMERS_SCOPE]
    assert step_of(reply) == 4 and not reply.ends_session
    assert api.timers() == []


def test_no_second_card_when_alexa_already_sent_one(
    no_permission: tuple[Alexa, TimersApiStandIn],
) -> None:
    """isCardThrown: Alexa sent the consent card itself, so the skill doesn't send another."""
    alexa, _api = no_permission
    ask_for_permission(alexa)
    reply = permission_answer(alexa, "DENIED", card_thrown=True)
    assert not reply.card or reply.card["type"] != "AskForPermissionsConsent"
    assert "time it yourself" in reply.speech


def test_a_stray_permission_answer_just_continues(runner: Alexa) -> None:
    """A Connections.Response nobody asked for repeats the current step."""
    walk_to(runner, 2)
    assert "Step 2 of 8" in permission_answer(runner, "ACCEPTED").speech


# --- Failures never end the routine ------------------------------------------------------

@pytest.mark.parametrize(("status", "said"), [
    (400, "couldn't set a timer this time"), (403, "couldn't set a timer this time"),
    (404, "The timers had a problem"), (500, "The timers had a problem"),
    (504, "device seems to be offline"), (429, "The timers had a problem"),
])
def test_every_error_code_leaves_a_spoken_duration(runner: Alexa, api: TimersApiStandIn,
                                                   status: int, said: str) -> None:
    """Each error the API can answer: a calm sentence, the duration, the routine goes on."""
    at_cold(runner)
    api.respond_with(status, times=None)
    reply = runner.intent(YES)
    assert said in reply.speech
    assert "time it yourself: 15 minutes with the compress on" in reply.speech
    assert not reply.ends_session and step_of(reply) == 4
    api.clear_faults()
    assert "Is the cramping completely gone?" in runner.intent(NEXT).speech


def test_the_ten_timer_limit_is_explained(make_alexa: Callable[..., Alexa]) -> None:
    """Ten timers on the device already: the skill says so and gives the duration."""
    with TimersApiStandIn(personal_timers=10) as api:
        alexa = make_alexa(device=new_device(api))
        at_cold(alexa)
        reply = alexa.intent(YES)
        assert "as many timers as it can hold" in reply.speech
        assert "time it yourself" in reply.speech


@pytest.mark.parametrize("fault", ["hang", "drop", "refused"])
def test_a_dead_or_slow_service_still_gets_an_answer(
    make_alexa: Callable[..., Alexa], api: TimersApiStandIn, fault: str
) -> None:
    """Hanging past the timeout, dropping the connection, or nothing listening at all."""
    if fault == "refused":
        with socket.socket() as sock:  # a port that nothing listens on
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        device = new_device(api)
        device.api_endpoint = f"http://127.0.0.1:{port}"
    else:
        device = new_device(api)
        if fault == "hang":
            api.hang(times=None, seconds=5)
        else:
            api.drop_connection(times=None)
    alexa = make_alexa(device=device)
    at_cold(alexa)
    reply = alexa.intent(YES)
    assert "couldn't reach the timers" in reply.speech
    assert "time it yourself: 15 minutes" in reply.speech and not reply.ends_session


def test_a_failing_cancel_says_so_and_keeps_going(runner: Alexa, api: TimersApiStandIn) -> None:
    """Cancel against a failing service: it says it couldn't, and the step carries on."""
    at_cold(runner)
    runner.intent(YES)
    api.respond_with(500, times=None)
    reply = runner.intent(CANCEL_TIMER)
    assert "couldn't reach the timers just now, so I couldn't cancel it" in reply.speech
    assert step_of(reply) == 4 and not reply.ends_session
