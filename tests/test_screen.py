"""The screens: APL documents whose every data binding resolves against what is sent with them.

The documents are checked without a device: each `${...}` expression is parsed for the
names it reads, every `payload.…` path is walked through the directive's own datasources, and
every `@resource` must have a default for all viewports. APL is sent only where it is declared.
Through the wire, every view a routine sends has that shape, in every locale, in plain text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

from skill import screen
from skill.routine import StepShown, load_routine
from tests.conftest import new_device
from tests.talk import CHECKLIST, HELPER, NEXT, NO, YES, walk_to
from tests.test_safety import assert_plain
from tooling.standins.alexa import Alexa, Device, Reply
from tooling.standins.timers_api import TimersApiStandIn

pytestmark = pytest.mark.every_locale


APL_DIR = Path(screen.__file__).parent / "apl"
DOCUMENTS = ["step.json", "checklist.json"]
CORE_COMPONENTS = {"Container", "Text", "Frame", "ScrollView", "TouchWrapper"}
# Names APL itself provides in data-binding expressions (not ours to resolve).
APL_BUILTINS = {
    "viewport", "environment", "resources", "data", "index", "ordinal", "length", "event",
    "Math", "String", "Array", "Time", "elapsedTime", "localTime", "utcTime",
    "true", "false", "null",
}


BUTTONS = (screen.Button("Back", screen.PREVIOUS), screen.Button("Repeat", screen.REPEAT),
           screen.Button("Next", screen.NEXT))


def step(**overrides: Any) -> Any:
    args: dict[str, Any] = {"number": 3, "total": 8, "title": "The massage",
                            "instruction": "Massage the cramping muscle with gentle pressure.",
                            "timer": "12 minutes left", "progress": "Step 3 of 8",
                            "buttons": BUTTONS}
    return screen.step_directive(**{**args, **overrides})


def checklist() -> Any:
    return screen.checklist_directive(
        title="What you'll need",
        items=["A cold compress", "An anti-inflammatory, such as ibuprofen or naproxen"],
        disclaimer="Not a substitute for professional medical advice.",
    )


DIRECTIVES = {
    "step with timer": (step(), "step.json"),
    "step, no timer, no progress words": (step(timer=None, progress=None), "step.json"),
    "step without buttons (a car)": (step(buttons=()), "step.json"),
    "checklist": (checklist(), "checklist.json"),
}


def strings(node: Any) -> Iterator[str]:
    """Every string value anywhere in a JSON tree."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def components(node: Any) -> Iterator[dict[str, Any]]:
    """Every component (an object with a type) under the main template."""
    if isinstance(node, dict):
        if isinstance(node.get("type"), str):
            yield node
        for key in ("item", "items", "firstItem", "lastItem"):
            children = node.get(key)
            for child in children if isinstance(children, list) else [children]:
                yield from components(child)
    elif isinstance(node, list):
        for child in node:
            yield from components(child)


EXPRESSION = re.compile(r"\$\{([^}]*)\}")
LITERAL = re.compile(r"'[^']*'|\"[^\"]*\"")
RESOURCE = re.compile(r"@(\w+)")  # a resource read inside an expression: not a data name
# A name not preceded by a dot (a root), then its .member and [index] steps.
PATH = re.compile(r"(?<![\w.])([A-Za-z_]\w*)((?:\s*\.\s*[A-Za-z_]\w*|\[\d+\])*)")
STEP = re.compile(r"\.\s*([A-Za-z_]\w*)|\[(\d+)\]")


def expression_paths(document: dict[str, Any]) -> Iterator[tuple[str, list[str | int]]]:
    """(root, steps) for every name read by every ${...} expression in the document."""
    for text in strings(document):
        for expression in EXPRESSION.findall(text):
            plain = RESOURCE.sub("0", LITERAL.sub("''", expression))
            for root, rest in PATH.findall(plain):
                steps: list[str | int] = [name or int(i) for name, i in STEP.findall(rest)]
                yield root, steps


def walk(data: Any, steps: list[str | int]) -> bool:
    """Whether the path leads somewhere in the data (dict keys, list indexes, an array's
    `length`, which APL provides)."""
    for s in steps:
        if s == "length" and isinstance(data, list):
            data = len(data)
            continue
        found = (isinstance(s, int) and isinstance(data, list) and s < len(data)) or (
            isinstance(s, str) and isinstance(data, dict) and s in data)
        if not found:
            return False
        data = data[s]
    return True


def bound_names(document: dict[str, Any]) -> set[str]:
    return {b["name"] for c in components(document["mainTemplate"]) for b in c.get("bind", [])}


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((APL_DIR / name).read_text())
    return document


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_has_the_apl_shape(name: str) -> None:
    """Valid JSON, type APL with a version, one `payload` parameter, core components only."""
    document = load(name)
    assert document["type"] == "APL"
    assert re.fullmatch(r"\d{4}\.\d|1\.\d+", document["version"])
    assert document["mainTemplate"]["parameters"] == [screen.DATASOURCE]
    assert "import" not in document  # nothing fetched at render time
    types = {c["type"] for c in components(document["mainTemplate"])}
    assert types and types <= CORE_COMPONENTS


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_resource_used_has_a_default_for_all_viewports(name: str) -> None:
    """Each @name is defined in the unconditional resource block (overrides only refine)."""
    document = load(name)
    default = next(r for r in document["resources"] if "when" not in r)
    defined = {n for kind, values in default.items() if isinstance(values, dict)
               for n in values}
    used = {s[1:] for s in strings(document["mainTemplate"]) if re.fullmatch(r"@\w+", s)}
    used |= {name for text in strings(document["mainTemplate"])
             for expression in EXPRESSION.findall(text)
             for name in RESOURCE.findall(LITERAL.sub("''", expression))}
    assert used and used <= defined
    for block in document["resources"]:
        overridden = {n for values in block.values() if isinstance(values, dict) for n in values}
        assert overridden <= defined


@pytest.mark.parametrize("case", DIRECTIVES, ids=str)
def test_every_binding_resolves_against_the_datasources_sent(case: str) -> None:
    """Every payload.… path a ${...} reads exists in the datasources; other roots are APL's."""
    directive, name = DIRECTIVES[case]
    allowed = APL_BUILTINS | bound_names(directive.document)
    read = list(expression_paths(directive.document))
    assert any(root == "payload" for root, _ in read)
    for root, steps in read:
        if root == screen.DATASOURCE:
            assert walk(directive.datasources[root], steps), f"unresolved: payload {steps}"
        else:
            assert root in allowed, f"unknown name in a binding: {root}"


@pytest.mark.parametrize("case", DIRECTIVES, ids=str)
def test_every_datum_sent_is_shown(case: str) -> None:
    """No dead data: each payload field is read by the document."""
    directive, _ = DIRECTIVES[case]
    read = {steps[0] for root, steps in expression_paths(directive.document)
            if root == screen.DATASOURCE and steps}
    assert read == set(directive.datasources[screen.DATASOURCE])


def data_driven(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """(component, payload path) for each component inflated once per item of a payload list."""
    for component in components(document["mainTemplate"]):
        for expression in EXPRESSION.findall(str(component.get("data", ""))):
            root, _, rest = expression.strip().partition(".")
            if root == screen.DATASOURCE:
                yield component, rest.split(".")


def item_paths(component: dict[str, Any]) -> Iterator[list[str | int]]:
    """Every `data.…` path read by the component's children (what each item must carry)."""
    children: dict[str, Any] = {k: component[k] for k in ("item", "items") if k in component}
    for root, steps in expression_paths(children):
        if root == "data":
            yield steps


@pytest.mark.parametrize("case", DIRECTIVES, ids=str)
def test_each_item_of_a_list_carries_what_its_row_reads(case: str) -> None:
    """A Container inflated from a payload list (the buttons, the checklist's rows): every
    `data.…` its rows read exists in every item sent, and every field of an item is read."""
    directive, _ = DIRECTIVES[case]
    lists = list(data_driven(directive.document))
    assert lists, "each document shows a list from the payload"
    for component, path in lists:
        items = directive.datasources[screen.DATASOURCE]
        for key in path:
            items = items[key]
        read = list(item_paths(component))
        for item in items:
            assert all(walk(item, steps) or steps == [] for steps in read), (path, item)
            if isinstance(item, dict):
                assert {steps[0] for steps in read if steps} == set(item), path


def sent_events(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every SendEvent command in the document's handlers."""
    events = []
    for component in components(document["mainTemplate"]):
        for handler in ("onPress", "onDown", "onUp", "onMount"):
            commands = component.get(handler) or []
            events += [c for c in (commands if isinstance(commands, list) else [commands])
                       if c.get("type") == "SendEvent"]
    return events


def test_each_button_sends_its_action_which_the_skill_answers() -> None:
    """The step view's buttons are TouchWrappers whose press sends `[action]`, and every
    action the payload gives a button is one skill/handlers/touch.py maps to an event."""
    from skill.handlers.touch import ACTIONS

    directive = step()
    [(row, path)] = data_driven(directive.document)
    assert path == ["buttons"]
    [wrapper] = [c for c in components(row.get("items") or row.get("item"))
                 if c["type"] == "TouchWrapper"]
    [event] = sent_events({"mainTemplate": wrapper})
    assert event["arguments"] == ["${data.action}"]
    actions = [b["action"] for b in directive.datasources[screen.DATASOURCE]["buttons"]]
    assert actions == [screen.PREVIOUS, screen.REPEAT, screen.NEXT]
    assert set(actions) <= set(ACTIONS)
    assert sent_events(checklist().document) == []  # the checklist has nothing to press


def test_no_words_in_the_documents() -> None:
    """Every word shown comes from the payload: a Text's text and a button's accessibility
    label are bindings, never literal words."""
    for name in DOCUMENTS:
        for component in components(load(name)["mainTemplate"]):
            for key in ("text", "accessibilityLabel"):
                if key in component:
                    literal = EXPRESSION.sub("", component[key])
                    assert not re.search(r"[A-Za-z]{2,}", literal), (name, component[key])


def test_step_view_carries_the_callers_text_verbatim() -> None:
    """Number, total, title, instruction, progress, timer and buttons reach the screen
    unchanged."""
    payload = step().datasources["payload"]
    assert payload == {"number": 3, "total": 8, "title": "The massage",
                       "instruction": "Massage the cramping muscle with gentle pressure.",
                       "timer": "12 minutes left", "progress": "Step 3 of 8",
                       "buttons": [{"label": "Back", "action": "previous"},
                                   {"label": "Repeat", "action": "repeat"},
                                   {"label": "Next", "action": "next"}]}


def test_no_timer_hides_the_timer_line() -> None:
    """Without a timer the payload's timer is empty, which the timer line's `when` hides."""
    directive = step(timer=None)
    assert directive.datasources["payload"]["timer"] == ""
    timer_lines = [c for c in components(directive.document["mainTemplate"])
                   if c.get("text") == "${payload.timer}"]
    assert [c.get("when") for c in timer_lines] == ["${payload.timer}"]


@pytest.mark.parametrize("case", DIRECTIVES, ids=str)
def test_serialized_directive_carries_the_documents_content(case: str) -> None:
    """On the wire: a RenderDocument whose document is exactly the file, and the payload."""
    directive, name = DIRECTIVES[case]
    wire = json.loads(json.dumps(DefaultSerializer().serialize(directive)))
    assert wire["type"] == "Alexa.Presentation.APL.RenderDocument"
    assert wire["token"] in (screen.STEP_TOKEN, screen.CHECKLIST_TOKEN)
    assert wire["document"] == load(name)
    assert wire["datasources"] == directive.datasources
    assert len(json.dumps(wire).encode()) < 12 * 1024  # leaves room in Alexa's 24 KB response


def test_directives_never_share_or_alter_the_loaded_document() -> None:
    """Changing one directive's document leaves the next one as the file says."""
    first = step()
    first.document["mainTemplate"]["parameters"].append("changed")
    assert step().document == load("step.json")


def envelope(interfaces: dict[str, Any], **context: Any) -> RequestEnvelope:
    device = Device(interfaces=interfaces, extra_context=context)
    raw = {
        "version": "1.0",
        "context": device.context(),
        "request": {"type": "LaunchRequest", "requestId": "r1", "locale": "en-US",
                    "timestamp": "2024-05-01T10:00:00Z"},
    }
    parsed: RequestEnvelope = DefaultSerializer().deserialize(json.dumps(raw), RequestEnvelope)
    return parsed


APL = {"Alexa.Presentation.APL": {"runtime": {"maxVersion": "2023.3"}}}


@pytest.mark.parametrize(("interfaces", "context", "expected"), [
    (APL, {}, True),
    ({}, {}, False),
    ({"AudioPlayer": {}}, {}, False),
    ({"Alexa.Presentation.APLT": {"runtime": {"maxVersion": "1.0"}}}, {}, False),
    ({}, {"Automotive": {}}, False),
], ids=["screen", "speaker", "audio only", "character display", "car"])
def test_supports_apl_only_where_the_device_declares_it(
    interfaces: dict[str, Any], context: dict[str, Any], expected: bool
) -> None:
    """APL goes to devices declaring Alexa.Presentation.APL, from an envelope or handler input."""
    request = envelope(interfaces, **context)
    assert screen.supports_apl(request) is expected
    assert screen.supports_apl(HandlerInput(request_envelope=request)) is expected


def test_supports_apl_is_false_without_a_device_in_the_context() -> None:
    """A request with no context (a malformed or test request) never gets APL."""
    bare: RequestEnvelope = DefaultSerializer().deserialize(
        json.dumps({"version": "1.0", "request": {"type": "LaunchRequest", "requestId": "r",
                                                  "timestamp": "2024-05-01T10:00:00Z"}}),
        RequestEnvelope,
    )
    assert screen.supports_apl(bare) is False



# --- Through the wire -----------------------------------------------------------------------

ROUTINE = load_routine()
DOCUMENT_OF = {screen.STEP_TOKEN: "step.json", screen.CHECKLIST_TOKEN: "checklist.json"}
HANDS_ON_INSTRUCTIONS = {f"step/{s.id}" for s in ROUTINE.steps if s.hands_on} | {"gate/ask"}
# A routine's answers on a screen: a timer question answered yes, so a running timer shows.
SCREEN_ANSWERS = {"pain_gate": NO, "cramp_gone": YES, "timer_offer": YES, "wait_offer": NO}


def views(reply: Reply) -> list[Mapping[str, Any]]:
    return [d for d in reply.directives if d["type"] == "Alexa.Presentation.APL.RenderDocument"]


def through_a_routine(alexa: Alexa, first: Reply) -> list[Reply]:
    said = [first, alexa.intent(CHECKLIST)]
    reply = said[-1]
    while not reply.ends_session and len(said) < 40:
        pending = reply.state["pending"]
        reply = alexa.intent(SCREEN_ANSWERS[pending] if pending else NEXT)
        said.append(reply)
    return said


@pytest.mark.parametrize("who", ["runner", "helper"])
def test_every_view_a_routine_sends_is_its_document_with_plain_data(
    make_alexa: Callable[..., Alexa], timers_api: TimersApiStandIn, locale: str, who: str
) -> None:
    """Each RenderDocument of a whole routine (steps, a running timer, the checklist): the
    document file itself, every binding resolving, every datum shown, all text plain, and
    the step view showing the step the runner is at."""
    timers_api.locale = locale  # the API wants the announcement in the device's locale
    alexa = make_alexa(device=new_device("screen"))
    said = through_a_routine(alexa, alexa.intent(HELPER) if who == "helper" else alexa.launch())
    sent = [(reply, view) for reply in said for view in views(reply)]
    assert {view["token"] for _, view in sent} == set(DOCUMENT_OF)
    assert any(view["datasources"]["payload"].get("timer") for _, view in sent)
    for reply, view in sent:
        document = load(DOCUMENT_OF[view["token"]])
        assert view["document"] == document
        data = view["datasources"]
        assert set(data) == {screen.DATASOURCE}
        read = list(expression_paths(document))
        for root, steps in read:
            if root == screen.DATASOURCE:
                assert walk(data[root], steps), f"unresolved: payload {steps}"
        assert {steps[0] for root, steps in read if root == screen.DATASOURCE and steps} == set(
            data[screen.DATASOURCE])
        for text in strings(data):
            assert_plain(text)
        payload = data[screen.DATASOURCE]
        if view["token"] == screen.STEP_TOKEN:
            assert payload["number"] == reply.state["step"]
            assert payload["total"] == ROUTINE.total
            assert all(payload[k] for k in ("progress", "title", "instruction"))


def test_a_screen_in_a_car_never_shows_a_hands_on_instruction(
    make_alexa: Callable[..., Alexa],
) -> None:
    """A car with a screen: while driving a held step shows the checklist or the hold, never
    the hands-on instruction."""
    car = new_device("screen", extra_context={"Automotive": {}})
    alexa = make_alexa(device=car)
    said = [alexa.launch()] + [alexa.intent(NEXT) for _ in range(5)]
    assert all(views(reply) for reply in said)
    shown = [reply.outcome.shown for reply in said]
    steps = [s for s in shown if isinstance(s, StepShown)]
    assert not {s.instruction.key for s in steps} & HANDS_ON_INSTRUCTIONS
    assert [reply.state["step"] for reply in said] == [1, 2, 3, 4, 5, 6]


def test_the_step_view_follows_the_walk(make_alexa: Callable[..., Alexa]) -> None:
    """The number shown is the step the runner walked to."""
    alexa = make_alexa(device=new_device("screen"))
    reply = walk_to(alexa, 6)
    [view] = views(reply)
    assert view["datasources"]["payload"]["number"] == 6
