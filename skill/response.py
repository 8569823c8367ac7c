"""The routine's outcome, shaped into Alexa's response: nothing here decides anything.

The outcome says which lines to speak, the prompt, the card, what a screen shows and the
effects; this module renders them in the request's locale and phrasing (the car's short
words, a helper's, the runner's), wraps the session's voice settings around the speech, and
adds the directives and cards Alexa needs.
"""

from __future__ import annotations

from typing import Any

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response
from ask_sdk_model.ui import SimpleCard

from skill import screen
from skill.permissions import PERMISSION_REQUEST, PERMISSION_TOKEN, TIMERS_SCOPE
from skill.routine import (
    ChecklistShown,
    ConsentCard,
    Outcome,
    Routine,
    Shown,
    State,
    StepShown,
)
from skill.speech import DEFAULT_LOCALE, Voice, to_text


def present(handler_input: HandlerInput, outcome: Outcome, routine: Routine) -> Response:
    """Alexa's response for an outcome: speech, reprompt, card, screen, session end."""
    builder = handler_input.response_builder
    if not outcome.lines and outcome.prompt is None:
        return builder.response  # SessionEndedRequest: Alexa takes no speech
    voice = voice_for(handler_input, outcome.state, routine)
    prompt = voice.ssml(outcome.prompt) if outcome.prompt is not None else ""
    builder.speak(voice.styled(" ".join(p for p in (voice.ssml(*outcome.lines), prompt) if p)))
    if outcome.hands_over:
        # Here, not at import: the Connections models cost a cold start that never needs them.
        from ask_sdk_model.interfaces.connections import SendRequestDirective

        # Alexa asks the permission question itself and answers with Connections.Response.
        builder.add_directive(SendRequestDirective(
            name="AskFor", payload=PERMISSION_REQUEST, token=PERMISSION_TOKEN))
    else:
        if prompt:
            builder.ask(voice.styled(prompt))
        builder.set_should_end_session(outcome.ends_session)
    if any(isinstance(e, ConsentCard) for e in outcome.effects):
        from ask_sdk_model.ui import AskForPermissionsConsentCard

        builder.set_card(AskForPermissionsConsentCard(permissions=[TIMERS_SCOPE]))
    elif outcome.card is not None and outcome.shown is not None:
        builder.set_card(_card(voice, outcome.shown))
    if outcome.shown is not None and screen.supports_apl(handler_input):
        builder.add_directive(_view(voice, outcome.shown))
    return builder.response


def voice_for(handler_input: HandlerInput, state: State, routine: Routine) -> Voice:
    """The words for this listener: the car's short ones, a helper's, or the runner's."""
    variants = (*(("car",) if state.driving else ()), *(("helper",) if state.helping else ()))
    return Voice(locale_of(handler_input), state, routine, variants=variants)


def locale_of(handler_input: HandlerInput) -> str:
    locale = getattr(handler_input.request_envelope.request, "locale", None)
    return locale if isinstance(locale, str) and locale else DEFAULT_LOCALE


def card_text(voice: Voice, shown: Shown) -> tuple[str, str]:
    """A card's title and body: plain text, in the listener's words."""
    if isinstance(shown, ChecklistShown):
        text = voice.text("card/checklist")
    else:
        text = voice.text("card/step", number=shown.number,
                          instruction=to_text(voice.ssml(shown.instruction)))
    title, _, body = text.partition("\n")
    return title.strip(), body.strip()


def screen_payload(voice: Voice, shown: Shown) -> dict[str, Any]:
    """What a screen's view shows (the APL datasource): plain text, in the listener's words."""
    if isinstance(shown, ChecklistShown):
        return {"title": voice.text("screen/checklist_title"),
                "items": voice.text("screen/checklist_items").splitlines(),
                "disclaimer": voice.text("screen/disclaimer")}
    assert isinstance(shown, StepShown)
    # No buttons for a driver: hands stay on the wheel, and voice does all they would.
    buttons = () if voice.driving else tuple(
        screen.Button(voice.text(f"screen/button_{action}"), action)
        for action in screen.STEP_BUTTONS)
    return {"number": shown.number, "total": voice.context["total"],
            "title": voice.text("screen/title", number=shown.number),
            "instruction": to_text(voice.ssml(shown.instruction)),
            "timer": to_text(voice.ssml(shown.timer)) if shown.timer else None,
            "progress": voice.text("screen/progress", number=shown.number),
            "buttons": buttons}


def _card(voice: Voice, shown: Shown) -> SimpleCard:
    title, body = card_text(voice, shown)
    return SimpleCard(title=title, content=body)


def _view(voice: Voice, shown: Shown) -> screen.RenderDocumentDirective:
    payload = screen_payload(voice, shown)
    if isinstance(shown, ChecklistShown):
        return screen.checklist_directive(**payload)
    return screen.step_directive(**payload)
