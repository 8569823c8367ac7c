"""How long Cramp Coach talks: every response of a full routine, per situation and locale.

Run from the repository root: ``make speech-report`` (or
``.venv/bin/python benchmarks/speech_report.py [--brief]``).

For each situation the skill supports (tests/full_run.py SITUATIONS: add a row there) and each
locale with a model in interaction_models/ (`--locale` for some), a new user walks the whole routine
(tests/full_run.py: launch, "next", "no" to the pain question, yes to the timer offers and
to "is the cramping gone?") through the Lambda entry point, with the Timers API stand-in.
The report gives the words and the estimated seconds of every response, the turns to finish,
and the words heard on launch before the first instruction, for a first-time user and for a
returning one (a day after finishing a routine, so no routine in progress).

Estimated seconds: words at 150 words per minute (an unhurried speaking rate, about
Alexa's), plus any SSML <break> time. Measured seconds, when espeak-ng is installed: the
length of the audio espeak-ng makes from the same SSML at 150 words per minute. Words are
tokens with a letter or a digit in them.
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
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # skill and tests, when run as a script

from tests.full_run import (  # noqa: E402
    SITUATIONS,
    Run,
    Situation,
    device_for,
    walk,
    words,
    words_before_first_instruction,
)
from tooling.standins.alexa import Alexa, Reply  # noqa: E402
from tooling.standins.timers_api import TimersApiStandIn  # noqa: E402

WORDS_PER_MINUTE = 150
MODEL_DIR = ROOT / "interaction_models"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 27, 17, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


def model_locales() -> list[str]:
    return sorted(p.stem for p in MODEL_DIR.glob("*.json"))


def model_intents(locale: str) -> set[str]:
    model = json.loads((MODEL_DIR / f"{locale}.json").read_text())
    return {i["name"] for i in model["interactionModel"]["languageModel"]["intents"]}


def load_handler() -> Handler:
    """lambda/lambda_function.py, as Lambda loads it (the embedded store, in a scratch file)."""
    spec = spec_from_file_location("lambda_function", ROOT / "lambda" / "lambda_function.py")
    assert spec and spec.loader
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = module.lambda_handler
    return handler


# --- seconds --------------------------------------------------------------------------------

_BREAK = re.compile(r"<break\b[^>]*\btime=[\"'](\d+(?:\.\d+)?)(ms|s)[\"']")


def estimated_seconds(reply: Reply) -> float:
    pauses = sum(float(v) / (1000 if unit == "ms" else 1) for v, unit in _BREAK.findall(reply.ssml))
    return words(reply.speech) * 60 / WORDS_PER_MINUTE + pauses


class Espeak:
    """Measured seconds: the length of espeak-ng's audio for the SSML (None if not installed)."""

    def __init__(self) -> None:
        self.binary = shutil.which("espeak-ng")
        self.scratch = Path(tempfile.mkdtemp(prefix="cramp-speech-"))
        self.voices: dict[str, str] = {}

    def seconds(self, ssml: str, locale: str) -> float | None:
        if self.binary is None:
            return None
        voice = self.voices.setdefault(locale, self._voice(locale))
        out = self.scratch / "said.wav"
        done = subprocess.run([self.binary, "-m", "-v", voice, "-s", str(WORDS_PER_MINUTE),
                               "-w", str(out), ssml], capture_output=True)
        if done.returncode != 0:
            return None
        with wave.open(str(out)) as audio:
            return audio.getnframes() / audio.getframerate()

    def _voice(self, locale: str) -> str:
        """espeak-ng's voice for the locale if it has one (en-gb, pt-br), else its language's
        (de, es, fr, it)."""
        assert self.binary is not None
        listed = subprocess.run([self.binary, "--voices"], capture_output=True, text=True)
        names = {line.split()[1] for line in listed.stdout.splitlines()[1:] if line.split()}
        language = locale.split("-")[0]
        for name in (locale.lower(), language, *sorted(n for n in names
                                                       if n.startswith(language + "-"))):
            if name in names:
                return name
        return "en-us"


# --- one situation, one locale ----------------------------------------------------------------


@dataclass
class Report:
    situation: Situation
    locale: str
    run: Run
    seconds: list[float]
    measured: list[float | None]
    first_time_words: int | None
    returning_words: int | None

    @property
    def total_words(self) -> int:
        return sum(words(r.speech) for r in self.run.replies)

    @property
    def longest(self) -> int:
        return max(words(r.speech) for r in self.run.replies)


def report(handler: Handler, situation: Situation, locale: str, api: TimersApiStandIn,
           espeak: Espeak) -> Report | None:
    device = device_for(situation, user_id=f"amzn1.ask.account.speech-{uuid.uuid4()}",
                        api_endpoint=api.url, api_access_token="speech-report")
    if device is None:
        return None
    clock = Clock()
    alexa = Alexa(lambda envelope: handler(envelope, None), locale=locale, device=device,
                  clock=clock)
    run = walk(alexa, opening=situation.opening)
    api_clear(api)
    # The same user a day later, the routine finished: a returning user with none in progress.
    clock.now += timedelta(days=1)
    again = alexa.launch()
    alexa.end_session()
    first = run.replies[0]
    return Report(
        situation, locale, run,
        seconds=[estimated_seconds(r) for r in run.replies],
        measured=[espeak.seconds(r.ssml, locale) for r in run.replies],
        first_time_words=words_before_first_instruction(first.speech, locale),
        returning_words=words_before_first_instruction(again.speech, locale),
    )


def api_clear(api: TimersApiStandIn) -> None:
    """The stand-in allows ten timers in all: clear each run's (they would clash by label)."""
    import urllib.request

    request = urllib.request.Request(f"{api.url}/v1/alerts/timers", method="DELETE",
                                     headers={"Authorization": "Bearer speech-report"})
    urllib.request.urlopen(request, timeout=5).close()


def fmt(value: float | int | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def print_detail(r: Report, width: int) -> None:
    print(f"\n{r.situation.name} · {r.locale}  ({r.situation.note})")
    print(f"  {'turn':>4}  {'the runner says':<24} {'words':>5} {'est s':>6} {'espeak s':>8}  "
          "Alexa says")
    for i, (kind, reply, est, measured) in enumerate(
            zip(r.run.kinds, r.run.replies, r.seconds, r.measured, strict=True), start=1):
        said = kind.removeprefix("AMAZON.").removesuffix("Intent")
        text = reply.speech if len(reply.speech) <= width else reply.speech[:width - 3] + "..."
        print(f"  {i:>4}  {said:<24} {words(reply.speech):>5} {est:>6.1f} {fmt(measured):>8}  "
              f"{text}")
    measured_total = None if None in r.measured else sum(m or 0.0 for m in r.measured)
    print(f"  {r.run.turns} turns to finish; {r.total_words} words, {sum(r.seconds):.0f} s "
          f"estimated{'' if measured_total is None else f', {measured_total:.0f} s espeak-ng'}; "
          f"before the first instruction on launch: {fmt(r.first_time_words, 'd')} words "
          f"(first time), {fmt(r.returning_words, 'd')} (returning)")


def print_summary(reports: list[Report], skipped: list[str]) -> None:
    header = ("situation", "locale", "turns", "words", "est s", "espeak s", "longest",
              "to 1st instr (new)", "(returning)")
    rows = []
    for r in reports:
        measured = None if None in r.measured else sum(m or 0.0 for m in r.measured)
        rows.append((r.situation.name, r.locale, str(r.run.turns), str(r.total_words),
                     f"{sum(r.seconds):.0f}", fmt(measured, ".0f"), f"{r.longest} words",
                     fmt(r.first_time_words, "d"), fmt(r.returning_words, "d")))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print("\nSummary: a full routine, per situation and locale\n")
    for row in [header, *rows]:
        print("  " + "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    for line in skipped:
        print(f"  skipped: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brief", action="store_true",
                        help="the summary only, not every response")
    parser.add_argument("--width", type=int, default=90, help="characters of each response shown")
    parser.add_argument("--locale", action="append",
                        help="only this locale (repeatable; default: every locale with a model)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cramp-speech-") as scratch:
        os.environ["CRAMP_COACH_DB"] = str(Path(scratch) / "memory.sqlite3")
        os.environ.pop("CRAMP_COACH_DYNAMODB_TABLE", None)
        handler = load_handler()
        espeak = Espeak()
        print(f"Speech report: {WORDS_PER_MINUTE} words per minute for the estimates; "
              f"espeak-ng {'at ' + espeak.binary if espeak.binary else 'not installed'}.")
        reports: list[Report] = []
        skipped: list[str] = []
        for situation in SITUATIONS:
            for locale in args.locale or model_locales():
                missing = set(situation.opening) - model_intents(locale)
                if missing:
                    skipped.append(f"{situation.name} in {locale}: the model has no "
                                   f"{', '.join(sorted(missing))}")
                    continue
                # The device's Timers API speaks the device's locale (it refuses others).
                with TimersApiStandIn(locale=locale) as api:
                    result = report(handler, situation, locale, api, espeak)
                if result is None:
                    skipped.append(f"{situation.name}: the simulator has no "
                                   f"{situation.device!r} device")
                    break
                reports.append(result)
                if not args.brief:
                    print_detail(result, args.width)
        print_summary(reports, sorted(set(skipped)))


if __name__ == "__main__":
    main()
