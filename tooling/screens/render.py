"""Cramp Coach's screens as a person sees them: every APL view, rendered and checked.

The views are captured from the real skill: the simulator's Alexa walks a whole routine on
an Echo Show (`Device.of_kind("screen")`) and on a car with a screen (APL and
`context.Automotive`), and every `Alexa.Presentation.APL.RenderDocument` directive the
replies carry is kept. Each view is then drawn by Amazon's own web renderer
(apl-viewhost-web: APL core compiled to WebAssembly) in headless Chromium, at the Echo
devices' viewports, and checked as a person would look at it:

- it renders without errors (console errors, page errors, the renderer's own errors, any
  request that would leave this machine);
- every text fits: no Text component cut short (maxLines, ellipsis), drawn past its box,
  hidden by whatever clips it, or outside the circle of a round screen (text inside a
  ScrollView may need scrolling, and must fit once scrolled to the middle);
- every text the skill sent is on the screen (no payload text silently dropped);
- each touch target is on the screen, and tapping it sends the skill the action its
  payload names.

    python -m tooling.screens.render                 # check, and write docs/screens/*.png
    python -m tooling.screens.render --out DIR       # screenshots elsewhere
    python -m tooling.screens.render --no-screenshots

It needs Node.js, the node modules of tooling/screens (`npm ci --prefix tooling/screens`) and
Chromium (Debian's `chromium`, or CRAMP_COACH_CHROMIUM naming another binary). This is
tooling: it is not part of the skill and never ships in the Lambda zip.

Which renderer: apl-viewhost-web 1.4.0 (APL core 1.4), the one release whose npm package
carries the built renderer. Every later release, up to 2024.3.0, has an install script that
downloads the build from Amazon's CDN, which a closed network refuses (`getaddrinfo ENOTFOUND
d2o906d8ln7ui1.cloudfront.net`). Core 1.4 lays out every component and property the
documents use; one it did not know would be reported (the renderer warns on the console).
The device font, Amazon Ember, comes from release 1.6.3's package (installed without its
script). Echo devices draw sans-serif text in Amazon Ember Display, which no package ships:
the text cut stands in for it, so widths may differ from a device's by a hair.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DOCS = ROOT / "docs" / "screens"
RENDER_SCRIPT = HERE / "render.mjs"
# What `npm ci --prefix tooling/screens` installs and the renderer cannot do without.
NODE_FILES = (
    "node_modules/apl-viewhost-web/index.js",
    "node_modules/apl-viewhost-web-fonts/fonts/Amazon-Ember-Regular.ttf",
    "node_modules/playwright-core/package.json",
)
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
RENDER_DIRECTIVE = "Alexa.Presentation.APL.RenderDocument"
APL_INTERFACE = {"Alexa.Presentation.APL": {"runtime": {"maxVersion": "2023.3"}}}
# A fixed moment, so every run captures the same words ("About 15 minutes left").
CLOCK = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
TIMERS_TOKEN = "screens-timers-token"
# Seconds Node and Chromium may take for the whole run before it counts as hung.
RUN_TIMEOUT = 180


@dataclass(frozen=True)
class Viewport:
    """A device's screen as APL describes it (dp, at 160 dpi a dp is a pixel)."""

    name: str
    label: str
    width: int
    height: int
    dpi: int = 160
    shape: str = "RECTANGLE"
    mode: str = "HUB"

    def in_mode(self, mode: str) -> Viewport:
        return Viewport(self.name, self.label, self.width, self.height, self.dpi, self.shape,
                        mode)

    def to_json(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "dpi": self.dpi,
                "shape": self.shape, "mode": self.mode, "theme": "dark"}


# The Echo screens people have (Amazon's viewport profiles: hubLandscapeSmall, Medium,
# XLarge and hubRoundSmall).
VIEWPORTS = (
    Viewport("echo-show-5", "Echo Show 5", 960, 480),
    Viewport("echo-show-8", "Echo Show 8 and 10", 1280, 800),
    Viewport("echo-show-15", "Echo Show 15", 1920, 1080),
    Viewport("echo-spot", "Echo Spot", 480, 480, shape="ROUND"),
)
# A car's screen runs APL in "auto" mode; car screens are rectangles of these sizes.
CAR_VIEWPORTS = tuple(v.in_mode("AUTO") for v in VIEWPORTS if v.shape == "RECTANGLE")


@dataclass(frozen=True)
class View:
    """One APL view the skill sent: its name and the directive as it crossed the wire."""

    name: str
    directive: Mapping[str, Any]
    car: bool = False

    @property
    def payload(self) -> Mapping[str, Any]:
        payload: Mapping[str, Any] = self.directive["datasources"]["payload"]
        return payload


@dataclass(frozen=True)
class Job:
    """One view drawn at one viewport: whether to keep a screenshot, whether to tap its
    buttons (once per viewport is enough: every step view has the same ones)."""

    view: View
    viewport: Viewport
    screenshot: bool = True
    tap: bool = False

    @property
    def name(self) -> str:
        return f"{self.view.name} on {self.viewport.name}"

    @property
    def file_name(self) -> str:
        return f"{self.view.name}--{self.viewport.name}.png"


@dataclass
class Report:
    """What one run found: the problems (empty when every view passed) and the figures."""

    problems: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)
    viewports: list[str] = field(default_factory=list)
    renders: int = 0
    browser: str | None = None
    capture_seconds: float = 0.0
    browser_seconds: float = 0.0  # Node and Chromium: launch, load the renderer, every render
    render_ms: list[float] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)
    # Per job: the buttons tapped whose SendEvent carried the payload's action.
    taps: dict[str, int] = field(default_factory=dict)

    def problems_of(self, job: Job) -> list[str]:
        return [p for p in self.problems if p.startswith(f"{job.name}: ")]

    def summary(self) -> str:
        renders = sorted(self.render_ms)
        median = renders[len(renders) // 2] if renders else 0.0
        return (f"{len(self.views)} views x {len(self.viewports)} viewports = {self.renders} "
                f"renders in {self.browser or 'Chromium'}; capture {self.capture_seconds:.1f} s, "
                f"browser {self.browser_seconds:.1f} s (median render {median:.0f} ms); "
                f"{len(self.screenshots)} screenshots; {len(self.problems)} problems")


# --- prerequisites ----------------------------------------------------------------------------

def find_chromium() -> str | None:
    """Chromium's binary: CRAMP_COACH_CHROMIUM, else Debian's, else one on the PATH."""
    named = os.environ.get("CRAMP_COACH_CHROMIUM")
    candidates = (named,) if named else CHROMIUM_CANDIDATES
    for candidate in candidates:
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    return None


def missing_prerequisites() -> str | None:
    """Why the views cannot be rendered here (None when they can)."""
    if shutil.which("node") is None:
        return "Node.js (node) is not on the PATH"
    absent = [f for f in NODE_FILES if not (HERE / f).is_file()]
    if absent:
        return (f"the node modules of {HERE.relative_to(ROOT)} are not installed "
                f"(missing {absent[0]}): run `npm ci --prefix {HERE.relative_to(ROOT)}`")
    if find_chromium() is None:
        return "Chromium is not installed (apt-get install chromium, or set CRAMP_COACH_CHROMIUM)"
    return None


# --- capturing the views from the skill ---------------------------------------------------------

def capture_views() -> list[View]:
    """Every distinct APL view a whole routine sends, on a screen and in a car with a screen."""
    from skill.app import build_skill, event_handler
    from tooling.standins.alexa import Alexa, Device
    from tooling.standins.timers_api import TimersApiStandIn

    # No store: the walk must not read or change anyone's kept progress.
    handle = event_handler(build_skill(store=None))

    def send(envelope: dict[str, Any]) -> dict[str, Any]:
        return handle(envelope, None)

    with TimersApiStandIn(tokens={TIMERS_TOKEN}) as api:
        def device(**fields: Any) -> Device:
            return Device(api_endpoint=api.url, api_access_token=TIMERS_TOKEN, **fields)

        screen = Alexa(send, device=Device.of_kind(
            "screen", api_endpoint=api.url, api_access_token=TIMERS_TOKEN), clock=lambda: CLOCK)
        views = _screen_views(screen)
        car = Alexa(send, device=device(interfaces=APL_INTERFACE,
                                        extra_context={"Automotive": {}}), clock=lambda: CLOCK)
        views.append(_car_hold_view(car))
    return views


# The runner's answer to each question, for a walk that sees every view: no to "is the pain
# getting worse?" (so the massage shows), yes to a timer (so the timer line shows), yes to "is
# the cramping gone?".
_ANSWERS = {"pain_gate": "AMAZON.NoIntent"}
_MOMENTS = {"pain_gate": "pain-question"}
MAX_TURNS = 40


def _rendered(reply: Any) -> list[Mapping[str, Any]]:
    return [d for d in reply.directives if d.get("type") == RENDER_DIRECTIVE]


def _routine(reply: Any) -> Mapping[str, Any]:
    state = reply.attributes.get("routine")
    return state if isinstance(state, Mapping) else {}


def _walk(alexa: Any) -> Iterator[Any]:
    """Launch, then answer or say next until the routine is finished; yields every reply."""
    reply = alexa.launch()
    yield reply
    for _turn in range(MAX_TURNS):
        state = _routine(reply)
        if state.get("finished") or reply.ends_session:
            return
        pending = state.get("pending")
        intent = _ANSWERS.get(pending, "AMAZON.YesIntent") if pending else "AMAZON.NextIntent"
        reply = alexa.intent(intent)
        yield reply
    raise RuntimeError(f"the routine did not finish in {MAX_TURNS} turns")


def _screen_views(alexa: Any) -> list[View]:
    views: dict[str, View] = {}
    seen: set[str] = set()

    def keep(name: str, directive: Mapping[str, Any]) -> None:
        key = json.dumps([directive.get("document"), directive.get("datasources")],
                         sort_keys=True)
        if key not in seen:
            seen.add(key)
            views[name] = View(name, directive)

    alexa.launch()
    checklist = _rendered(alexa.intent("ChecklistIntent"))
    if not checklist:
        raise RuntimeError("the checklist sent no APL view to a screen")
    keep("checklist", checklist[0])
    alexa.end_session()
    for reply in _walk(alexa):
        state = _routine(reply)
        for directive in _rendered(reply):
            keep(_step_view_name(state, directive, views), directive)
    return list(views.values())


def _step_view_name(state: Mapping[str, Any], directive: Mapping[str, Any],
                    named: Mapping[str, View]) -> str:
    """step-N the first time a step shows; then by what changed (its question, its timer)."""
    base = f"step-{state.get('step')}"
    moment = _MOMENTS.get(str(state.get("pending")))
    if moment:
        return f"{base}-{moment}"
    if base not in named:
        return base
    if directive["datasources"]["payload"].get("timer"):
        return f"{base}-timer"
    return f"{base}-{sum(1 for n in named if n.startswith(base)) + 1}"


def _car_hold_view(alexa: Any) -> View:
    """The step view a driver's screen shows (the hold line instead of the hands-on step).

    Every step's hold view has the same layout; the one with the most text is the hardest
    to fit, so that is the one rendered."""
    held = [d for reply in _walk(alexa) for d in _rendered(reply)
            if d.get("token") == "cramp-coach-step"]
    if not held:
        raise RuntimeError("a car with a screen got no step view")
    longest = max(held, key=lambda d: sum(len(str(v)) for v in _texts(d["datasources"])))
    return View("car-hold", longest, car=True)


# Payload fields that are tokens for the skill, never shown (a button's action).
NOT_SHOWN = frozenset({"action"})


def _texts(node: Any) -> Iterator[str]:
    """Every non-empty string in a payload that the screen must show."""
    if isinstance(node, str):
        if node.strip():
            yield node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if key not in NOT_SHOWN:
                yield from _texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _texts(value)


def jobs_for(views: Sequence[View]) -> list[Job]:
    """Each view at each viewport it can meet (the car's at the car's)."""
    jobs = []
    tapped: set[str] = set()
    for view in views:
        for viewport in CAR_VIEWPORTS if view.car else VIEWPORTS:
            tap = bool(view.payload.get("buttons")) and viewport.name not in tapped
            if tap:
                tapped.add(viewport.name)
            jobs.append(Job(view, viewport, tap=tap))
    return jobs


# --- rendering ------------------------------------------------------------------------------

def run_renderer(jobs: Sequence[Job], out_dir: Path | None, chromium: str) -> dict[str, Any]:
    """One Node process, one Chromium, one page: every job rendered in turn."""
    wire = [{
        "name": job.name,
        "document": job.view.directive["document"],
        "datasources": job.view.directive["datasources"],
        "viewport": job.viewport.to_json(),
        "screenshot": str(out_dir / job.file_name) if out_dir and job.screenshot else None,
        "tap": job.tap,
    } for job in jobs]
    if len({w["name"] for w in wire}) != len(wire):
        raise ValueError("two jobs share a name")
    request = {"chromium": chromium, "tmpdir": tempfile.gettempdir(), "jobs": wire}
    node = shutil.which("node") or "node"
    try:
        done = subprocess.run([node, str(RENDER_SCRIPT)], input=json.dumps(request),
                              capture_output=True, text=True, cwd=HERE,
                              timeout=RUN_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as error:
        raise RenderError(f"the renderer did not finish in {RUN_TIMEOUT} s") from error
    if done.returncode != 0:
        raise RenderError(f"render.mjs failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


class RenderError(RuntimeError):
    """The renderer could not run at all (not a problem with a view)."""


# --- judging what was rendered ----------------------------------------------------------------

def _short(text: str, length: int = 48) -> str:
    return text if len(text) <= length else text[: length - 1] + "\u2026"


def _norm(text: str) -> str:
    return " ".join(text.split())


def judge_setup(result: Mapping[str, Any]) -> list[str]:
    """Problems while loading the page and the renderer, before any view."""
    problems = []
    setup = result.get("setup") or {}
    for kind in ("console", "pageErrors", "requests"):
        problems += [f"loading the renderer: {kind}: {_short(m, 200)}" for m in setup.get(kind)
                     or []]
    broken = [f"{f['family']} {f['style']} {f['weight']}" for f in result.get("fonts") or []
              if f.get("status") == "error"]
    problems += [f"loading the renderer: font failed: {face}" for face in broken]
    return problems


def judge(job: Job, rendered: Mapping[str, Any]) -> list[str]:
    """Everything wrong with one rendered view, each as one line naming the view."""
    where = job.name
    if rendered.get("error"):
        return [f"{where}: {rendered['error']}"]
    problems = [f"{where}: renderer error: {_short(e, 200)}"
                for e in rendered.get("runtimeErrors") or []]
    problems += [f"{where}: console {_short(m, 200)}" for m in rendered.get("console") or []]
    problems += [f"{where}: page error: {_short(e, 200)}" for e in rendered.get("pageErrors")
                 or []]
    problems += [f"{where}: request left the machine: {u}" for u in rendered.get("requests")
                 or []]
    texts = rendered.get("texts") or []
    for text in texts:
        problems += _judge_text(where, text)
        # The Spot's circle cannot hold the longest steps at a readable size, so the words
        # scroll there; on every other screen a glance must show the whole view.
        if text.get("scrolled") and job.viewport.shape != "ROUND":
            problems.append(f"{where}: only seen by scrolling: '{_short(_norm(text['full']))}'")
    shown = " \u241e ".join(_norm(t.get("full", "")) for t in texts)
    problems += [f"{where}: sent but not on the screen: '{_short(t)}'"
                 for t in _texts(job.view.directive["datasources"]) if _norm(t) not in shown]
    problems += _judge_touch(job, rendered)
    return problems


# A tag (SSML's <say-as>, APL's <br>) or an XML entity: screens carry plain text only.
MARKUP = re.compile(r"<[A-Za-z/!?][^>]*>|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);")


def _judge_text(where: str, text: Mapping[str, Any]) -> list[str]:
    full, shown = _norm(text.get("full", "")), _norm(text.get("shown", ""))
    label = f"'{_short(full)}'"
    problems = []
    if full != shown:
        kept = len(os.path.commonprefix([full, shown]))
        problems.append(f"{where}: text cut short at {text.get('lines')} lines: {label} loses "
                        f"'{_short(full[kept:])}'")
    markup = MARKUP.search(full)
    if markup:
        problems.append(f"{where}: markup shown as text: {_short(markup[0])!r} in {label}")
    if text.get("overflow", 0) > 1:
        problems.append(f"{where}: text drawn {text['overflow']:.0f}px past its box: {label}")
    if text.get("hidden"):
        problems.append(f"{where}: {len(text['hidden'])} line(s) clipped out of sight: {label}")
    if text.get("outsideCircle"):
        problems.append(f"{where}: {len(text['outsideCircle'])} line(s) outside the round "
                        f"screen: {label}")
    if full and not text.get("fontsLoaded", True):
        problems.append(f"{where}: drawn in a fallback font (device font not loaded): {label}")
    return problems


def _judge_touch(job: Job, rendered: Mapping[str, Any]) -> list[str]:
    where = job.name
    buttons = job.view.payload.get("buttons") or []
    targets = rendered.get("touch") or []
    problems = [f"{where}: touch target off the screen: '{t.get('text')}'" for t in targets
                if not t.get("inView")]
    if len(targets) != len(buttons):
        problems.append(f"{where}: {len(targets)} touch targets for {len(buttons)} buttons sent")
    problems += [p for p in (_tap_problem(job, t) for t in rendered.get("taps") or []) if p]
    return problems


def _tap_problem(job: Job, tap: Mapping[str, Any]) -> str | None:
    """What is wrong with one tap: it must send exactly [the tapped button's action]."""
    action_of = {_norm(b["label"]): b["action"] for b in job.view.payload.get("buttons") or []}
    expected = action_of.get(_norm(tap.get("text", "")))
    sent = [e.get("arguments") for e in tap.get("events") or []]
    if expected is not None and sent == [[expected]]:
        return None
    return f"{job.name}: tapping '{tap.get('text')}' sent {sent}, not [[{expected!r}]]"


# --- the whole run ----------------------------------------------------------------------------

def render_all(out_dir: Path | None = DOCS) -> Report:
    """Capture every view from the skill, render each at each viewport and judge it; with
    `out_dir`, write one PNG per view and viewport there (replacing the PNGs it held).
    Raises RenderError when the renderer cannot run at all; problems with the views are in
    the report."""
    started = time.perf_counter()
    views = capture_views()
    capture_seconds = time.perf_counter() - started
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for old in out_dir.glob("*.png"):  # a view that no longer exists leaves no picture
            old.unlink()
    report = render_and_judge(jobs_for(views), out_dir)
    report.capture_seconds = capture_seconds
    return report


def render_and_judge(jobs: Sequence[Job], out_dir: Path | None = None) -> Report:
    """Render the jobs in one browser and judge each (screenshots to `out_dir`, if given)."""
    reason = missing_prerequisites()
    if reason:
        raise RenderError(reason)
    chromium = find_chromium()
    assert chromium is not None
    report = Report()
    report.views = list(dict.fromkeys(job.view.name for job in jobs))
    report.viewports = list(dict.fromkeys(job.viewport.name for job in jobs))
    started = time.perf_counter()
    result = run_renderer(jobs, out_dir, chromium)
    report.browser_seconds = time.perf_counter() - started
    report.browser = result.get("browser")
    report.problems += judge_setup(result)
    results = {r["name"]: r for r in result.get("results") or []}
    for job in jobs:
        rendered = results.get(job.name)
        if rendered is None:
            report.problems.append(f"{job.name}: no result from the renderer")
            continue
        report.renders += 1
        report.render_ms.append(float(rendered.get("ms") or 0.0))
        report.problems += judge(job, rendered)
        report.taps[job.name] = sum(1 for tap in rendered.get("taps") or []
                                    if _tap_problem(job, tap) is None)
        if out_dir is not None and (out_dir / job.file_name).is_file():
            report.screenshots.append(out_dir / job.file_name)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.screens.render",
                                     description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DOCS,
                        help=f"where the screenshots go (default: {DOCS.relative_to(ROOT)})")
    parser.add_argument("--no-screenshots", action="store_true", help="check only")
    args = parser.parse_args(argv)
    try:
        report = render_all(None if args.no_screenshots else args.out)
    except RenderError as error:
        print(f"cannot render the screens: {error}", file=sys.stderr)
        return 2
    for problem in report.problems:
        print(problem)
    print(report.summary())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
