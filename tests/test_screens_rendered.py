"""The screens as a person sees them: every APL view the skill sends, drawn by Amazon's web
renderer (apl-viewhost-web) in headless Chromium at every Echo viewport (tooling/screens/).

One browser and one page render everything once for the module: the real views, captured by
walking the skill, and a few deliberately broken controls that prove each check can fail.
The tests skip only where Chromium or the renderer's node modules are absent; under CI
(`.ci/run` installs both) their absence is a failure, so a green CI has looked at the screens.
"""

from __future__ import annotations

import copy
import os
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tests.test_screen import components
from tooling.screens import render
from tooling.screens.render import Job, Report, View

MISSING = render.missing_prerequisites()
VIEWPORT = {v.name: v for v in render.VIEWPORTS}
# What the skill must show on a screen (tooling/screens/render.py names what it captures).
EXPECTED_VIEWS = {f"step-{n}" for n in range(1, 9)} | {
    "step-3-pain-question", "step-4-timer", "checklist", "car-hold"}


@dataclass
class Rendered:
    jobs: list[Job]
    controls: dict[str, tuple[Job, str]]  # name -> (job, the problem it must raise)
    report: Report
    shots: Path


def by_id(document: dict[str, Any], id_: str) -> dict[str, Any]:
    [found] = [c for c in components(document["mainTemplate"]) if c.get("id") == id_]
    return found


def control(base: View, name: str, change: Any) -> View:
    """A copy of a real view, broken on purpose by `change(document, payload)`."""
    directive = copy.deepcopy(dict(base.directive))
    change(directive["document"], directive["datasources"]["payload"])
    return View(name, directive)


def controls_from(step: View) -> dict[str, tuple[Job, str]]:
    """Broken views, each with the words of the one problem it must be reported for."""

    def cut(doc: dict[str, Any], _: Any) -> None:
        by_id(doc, "instruction")["maxLines"] = 1

    def markup(_: Any, payload: dict[str, Any]) -> None:
        payload["instruction"] = 'In an emergency, call <say-as interpret-as="digits">911</say-as>.'

    def square_layout(doc: dict[str, Any], _: Any) -> None:
        for block in doc["resources"]:
            if "round" in block.get("when", ""):
                block["when"] = "${false}"  # the Spot gets the big screens' margins and type

    def huge_title(doc: dict[str, Any], _: Any) -> None:
        by_id(doc, "title")["fontSize"] = "120dp"

    def squashed_buttons(doc: dict[str, Any], _: Any) -> None:
        row = by_id(doc, "buttons")
        row["height"] = "12dp"
        row["items"][0]["item"]["item"]["height"] = "12dp"

    def wrong_action(doc: dict[str, Any], _: Any) -> None:
        wrapper = by_id(doc, "buttons")["items"][0]
        wrapper["onPress"][0]["arguments"] = ["repeat"]

    cases = [
        ("control-cut", cut, "echo-show-5", "text cut short", False),
        ("control-markup", markup, "echo-show-8", "markup shown as text", False),
        ("control-edge", square_layout, "echo-spot", "outside the round screen", False),
        ("control-scroll", huge_title, "echo-show-5", "only seen by scrolling", False),
        ("control-squashed", squashed_buttons, "echo-show-8", "clipped out of sight", False),
        ("control-tap", wrong_action, "echo-show-15", "tapping 'Next' sent [['repeat']]", True),
    ]
    return {name: (Job(control(step, name, change), VIEWPORT[viewport], screenshot=False,
                       tap=tap), expected)
            for name, change, viewport, expected, tap in cases}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    if MISSING:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must render the screens, but {MISSING}")
        pytest.skip(f"cannot render the screens here: {MISSING}")
    views = render.capture_views()
    # Screenshots of one view per viewport are enough to test the files (all of them cost
    # seconds): `make screens` writes the full set to docs/screens/.
    jobs = [replace(job, screenshot=job.view.name in ("step-1", "car-hold"))
            for job in render.jobs_for(views)]
    [longest] = [v for v in views if v.name == "step-7"]
    controls = controls_from(longest)
    shots = tmp_path_factory.mktemp("screens")
    report = render.render_and_judge([*jobs, *(job for job, _ in controls.values())], shots)
    print(report.summary())
    return Rendered(jobs, controls, report, shots)


@pytest.mark.long
def test_every_view_renders_whole_at_every_viewport(rendered: Rendered) -> None:
    """No errors, nothing cut, clipped, off the circle or left unsaid; buttons send their
    actions: for each of the skill's views at each Echo viewport."""
    problems = [p for job in rendered.jobs for p in rendered.report.problems_of(job)]
    setup = [p for p in rendered.report.problems if p.startswith("loading the renderer")]
    assert not setup + problems, "\n".join(setup + problems)


def test_every_view_and_viewport_was_rendered(rendered: Rendered) -> None:
    """The walk reached every view the skill has, and each was drawn at every viewport
    (the car's at the car's), not silently skipped."""
    names = {job.view.name for job in rendered.jobs}
    assert names >= EXPECTED_VIEWS
    for job in rendered.jobs:
        expected = render.CAR_VIEWPORTS if job.view.car else render.VIEWPORTS
        assert job.viewport in expected
    assert len(rendered.jobs) == sum(
        len(render.CAR_VIEWPORTS if view_car else render.VIEWPORTS)
        for view_car in {job.view.name: job.view.car for job in rendered.jobs}.values())
    assert rendered.report.renders == len(rendered.jobs) + len(rendered.controls)
    assert all(ms > 0 for ms in rendered.report.render_ms)


def test_each_button_was_tapped_on_each_screen_and_sent_its_action(rendered: Rendered) -> None:
    """Back, Repeat and Next, tapped with a finger (touch events) on every Echo viewport,
    each made the renderer send exactly [its action] (what skill/handlers/touch.py reads)."""
    tapped = [job for job in rendered.jobs if job.tap]
    assert {job.viewport.name for job in tapped} == set(VIEWPORT)
    assert [rendered.report.taps.get(job.name) for job in tapped] == [3] * len(tapped)


@pytest.mark.parametrize("name", ["control-cut", "control-markup", "control-edge",
                                  "control-scroll", "control-squashed", "control-tap"])
def test_the_checks_catch_a_broken_screen(rendered: Rendered, name: str) -> None:
    """Each check can fail: a view broken on purpose is reported, for the right reason."""
    job, expected = rendered.controls[name]
    problems = rendered.report.problems_of(job)
    assert any(expected in problem for problem in problems), problems


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_screenshots_are_the_screens_size(rendered: Rendered) -> None:
    """A PNG per screenshotted job, exactly the device's viewport in pixels (160 dpi)."""
    shot = [job for job in rendered.jobs if job.screenshot]
    assert len(shot) >= len(render.VIEWPORTS)
    for job in shot:
        path = rendered.shots / job.file_name
        assert path in rendered.report.screenshots
        assert png_size(path) == (job.viewport.width, job.viewport.height)


# --- without a browser: the capture and the judging -------------------------------------------

@pytest.fixture(scope="module")
def captured() -> list[View]:
    return render.capture_views()


def test_the_walk_captures_every_view_the_skill_sends(captured: list[View]) -> None:
    """Every step, the pain question, a timer view, the checklist and the driver's view, each
    a RenderDocument as it crossed the wire, none twice."""
    names = [view.name for view in captured]
    assert set(names) >= EXPECTED_VIEWS and len(names) == len(set(names))
    for view in captured:
        assert view.directive["type"] == render.RENDER_DIRECTIVE
        assert view.directive["document"]["type"] == "APL"
    [car] = [view for view in captured if view.car]
    assert car.payload["buttons"] == [] and car.payload["title"]
    [question] = [view for view in captured if view.name == "step-3-pain-question"]
    [massage] = [view for view in captured if view.name == "step-3"]
    assert question.payload["instruction"] != massage.payload["instruction"]


def fake_job(captured: list[View], name: str = "step-1", viewport: str = "echo-show-5") -> Job:
    [view] = [v for v in captured if v.name == name]
    return Job(view, VIEWPORT[viewport])


def measured(job: Job, **text: Any) -> dict[str, Any]:
    """A renderer's answer in which every payload text shows whole, plus `text` (one more)."""
    texts = [{"full": t, "shown": t, "lines": 1, "overflow": 0, "hidden": [],
              "outsideCircle": [], "scrolled": False, "fontsLoaded": True}
             for t in render._texts(job.view.directive["datasources"])]
    if text:
        texts.append({"full": "x", "shown": "x", "lines": 1, "overflow": 0, "hidden": [],
                      "outsideCircle": [], "scrolled": False, "fontsLoaded": True, **text})
    buttons = job.view.payload.get("buttons") or []
    return {"texts": texts, "touch": [{"text": b["label"], "inView": True} for b in buttons],
            "console": [], "pageErrors": [], "requests": [], "runtimeErrors": []}


def test_a_view_shown_whole_has_no_problem(captured: list[View]) -> None:
    job = fake_job(captured)
    assert render.judge(job, measured(job)) == []


@pytest.mark.parametrize(("text", "viewport", "expected"), [
    ({"full": "one two three", "shown": "one two", "lines": 1}, "echo-show-5", "cut short"),
    ({"overflow": 12}, "echo-show-5", "past its box"),
    ({"hidden": [{}]}, "echo-show-5", "clipped out of sight"),
    ({"outsideCircle": [{}]}, "echo-spot", "outside the round screen"),
    ({"scrolled": True}, "echo-show-8", "only seen by scrolling"),
    ({"full": "call <say-as>911</say-as>", "shown": "call <say-as>911</say-as>"},
     "echo-show-8", "markup shown as text"),
    ({"full": "&amp; more", "shown": "&amp; more"}, "echo-show-8", "markup shown as text"),
    ({"fontsLoaded": False}, "echo-show-15", "fallback font"),
])
def test_each_text_problem_is_named(captured: list[View], text: dict[str, Any], viewport: str,
                                    expected: str) -> None:
    job = fake_job(captured, viewport=viewport)
    problems = render.judge(job, measured(job, **text))
    assert len(problems) == 1 and expected in problems[0], problems


def test_scrolling_is_allowed_on_the_round_screen_only(captured: list[View]) -> None:
    job = fake_job(captured, viewport="echo-spot")
    assert render.judge(job, measured(job, scrolled=True)) == []


def test_a_sent_text_missing_from_the_screen_is_named(captured: list[View]) -> None:
    job = fake_job(captured)
    answer = measured(job)
    answer["texts"] = [t for t in answer["texts"] if t["full"] != job.view.payload["title"]]
    [problem] = render.judge(job, answer)
    assert "sent but not on the screen" in problem and job.view.payload["title"] in problem


@pytest.mark.parametrize(("events", "ok"), [
    ([{"arguments": ["next"]}], True),
    ([{"arguments": ["repeat"]}], False),
    ([], False),
    ([{"arguments": ["next"]}, {"arguments": ["next"]}], False),
])
def test_a_tap_must_send_exactly_its_buttons_action(
    captured: list[View], events: list[dict[str, Any]], ok: bool
) -> None:
    job = fake_job(captured)
    [next_label] = [b["label"] for b in job.view.payload["buttons"] if b["action"] == "next"]
    answer = {**measured(job), "taps": [{"text": next_label, "events": events}]}
    assert (render.judge(job, answer) == []) is ok


def test_errors_and_outside_requests_are_problems(captured: list[View]) -> None:
    job = fake_job(captured)
    answer = {**measured(job), "console": ["error: boom"], "pageErrors": ["TypeError"],
              "requests": ["https://example.com/x"], "runtimeErrors": ["bad"]}
    assert len(render.judge(job, answer)) == 4
    assert render.judge(job, {"error": "refused"}) == [f"{job.name}: refused"]
