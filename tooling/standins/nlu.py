"""Typed words to Alexa requests, from the interaction model's own sample utterances.

A small stand-in for Alexa's language understanding, for the console: it matches whole
utterances against the samples (slots as wildcards), resolves custom slot values to their
ids, turns spoken numbers into digits as AMAZON.NUMBER does, and falls back to
AMAZON.FallbackIntent. It knows the invocation forms: "open cramp coach", "ask cramp
coach to ...", "tell cramp coach ...".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooling.standins.alexa import Slot

MODELS = Path(__file__).resolve().parents[2] / "interaction_models"

# Spoken numbers as AMAZON.NUMBER and AMAZON.Ordinal deliver them: as digits.
_NUMBERS = {w: i for i, w in enumerate([
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
])}
_ORDINALS = {w: i for i, w in enumerate([
    "zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
    "ninth", "tenth",
])}
_LAUNCH_WORDS = ("open", "launch", "start", "begin", "load", "run", "use")
# "ask cramp coach to ...", "tell cramp coach that ...": {name} is the invocation name.
_ONE_SHOT = r"^(?:ask|tell)\s+{name}\s*(?:(?:to|for|that|about|if|whether)\s+)?(.*)$"


# People type (and Alexa hears) "I am done" as readily as "I'm done": both sides of a match
# are expanded, so one sample covers both.
_CONTRACTIONS = {
    "i'm": "i am", "i've": "i have", "i'll": "i will", "i'd": "i would", "it's": "it is",
    "what's": "what is", "that's": "that is", "there's": "there is", "let's": "let us",
    "you're": "you are", "they're": "they are", "we're": "we are", "can't": "cannot",
    "won't": "will not", "don't": "do not", "isn't": "is not", "haven't": "have not",
    "didn't": "did not", "doesn't": "does not", "he's": "he is", "she's": "she is",
}


def normalize(text: str) -> str:
    """Lower case, curly quotes straightened, punctuation other than apostrophes dropped,
    common contractions expanded."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " ".join(_CONTRACTIONS.get(word, word) for word in text.split())


@dataclass(frozen=True)
class Understood:
    """What the console heard: a launch, an intent with slots, or silence."""

    kind: str  # "launch" | "intent" | "silence"
    intent: str | None = None
    slots: dict[str, Slot] = field(default_factory=dict)
    one_shot: bool = False  # "ask cramp coach to ...": a request that opens its own session


@dataclass(frozen=True)
class _Pattern:
    intent: str
    regex: re.Pattern[str]
    literal_length: int
    slot_types: dict[str, str]


class Understanding:
    """The language model of one locale, ready to match typed utterances."""

    def __init__(self, model: dict[str, Any]) -> None:
        language = model["interactionModel"]["languageModel"]
        self.invocation: str = language["invocationName"]
        self.synonyms: dict[str, dict[str, str]] = {
            t["name"]: {
                normalize(s): v["id"]
                for v in t["values"]
                for s in [v["name"]["value"], *v["name"].get("synonyms", [])]
            }
            for t in language.get("types", [])
        }
        self.patterns = [
            self._compile(intent, sample)
            for intent in language["intents"]
            for sample in intent.get("samples", [])
        ]

    @classmethod
    def for_locale(cls, locale: str, models: Path = MODELS) -> Understanding:
        path = models / f"{locale}.json"
        if not path.exists():
            path = models / "en-US.json"
        return cls(json.loads(path.read_text()))

    def _compile(self, intent: dict[str, Any], sample: str) -> _Pattern:
        types = {s["name"]: s["type"] for s in intent.get("slots", [])}
        parts = re.split(r"(\{\w+\})", normalize_sample(sample))
        regex = "".join(
            f"(?P<{p[1:-1]}>.+?)" if p.startswith("{") else re.escape(p) for p in parts
        )
        literal = sum(len(p) for p in parts if not p.startswith("{"))
        return _Pattern(intent["name"], re.compile(regex), literal, types)

    def understand(self, text: str) -> Understood:
        words = normalize(text)
        if words.startswith("alexa "):
            words = words.removeprefix("alexa ")
        if not words:
            return Understood("silence")
        name = re.escape(self.invocation)
        launch = rf"(?:(?:{'|'.join(_LAUNCH_WORDS)})\s+)?{name}"
        if re.fullmatch(launch, words):
            return Understood("launch")
        one_shot = _ONE_SHOT.format(name=name)
        match = re.fullmatch(one_shot, words)
        if match:
            if not match.group(1):
                return Understood("launch")
            return self._intent(match.group(1), one_shot=True)
        return self._intent(words, one_shot=False)

    def _intent(self, words: str, *, one_shot: bool) -> Understood:
        best: tuple[int, str, dict[str, Slot]] | None = None
        for pattern in self.patterns:
            match = pattern.regex.fullmatch(words)
            if not match:
                continue
            slots = self._slots(pattern, match.groupdict())
            if slots is None:
                continue
            score = pattern.literal_length + sum(len(s.value or "") for s in slots.values()
                                                 if s.resolved_id)
            if best is None or score > best[0]:
                best = (score, pattern.intent, slots)
        if best is None:
            return Understood("intent", "AMAZON.FallbackIntent", one_shot=one_shot)
        return Understood("intent", best[1], best[2], one_shot=one_shot)

    def _slots(self, pattern: _Pattern, heard: dict[str, str]) -> dict[str, Slot] | None:
        slots: dict[str, Slot] = {}
        for name, value in heard.items():
            slot_type = pattern.slot_types.get(name, "")
            if slot_type in self.synonyms:
                resolved = self.synonyms[slot_type].get(value)
                if resolved is None:
                    return None  # only words the type knows fill a custom slot here
                slots[name] = Slot(value, resolved, custom_type=slot_type)
            elif slot_type == "AMAZON.NUMBER":
                number = _number(value)
                if number is None:
                    return None  # Alexa fills a number slot only with a number
                slots[name] = Slot(str(number))
            elif slot_type == "AMAZON.DURATION":
                duration = _duration(value)
                if duration is None:
                    return None
                slots[name] = Slot(duration)
            elif slot_type == "AMAZON.Ordinal":
                number = _ORDINALS.get(value)
                slots[name] = Slot(str(number) if number is not None else value)
            else:
                slots[name] = Slot(value)
        return slots


def _number(words: str) -> int | None:
    if words.isdigit():
        return int(words)
    return _NUMBERS.get(words)


_DURATION = re.compile(r"^(\w+) (minute|minutes|hour|hours)$")


def _duration(words: str) -> str | None:
    """"twenty minutes" -> "PT20M", as AMAZON.DURATION resolves it."""
    match = _DURATION.match(words)
    number = _number(match.group(1)) if match else None
    if match is None or number is None:
        return None
    return f"PT{number}{'H' if match.group(2).startswith('hour') else 'M'}"


def normalize_sample(sample: str) -> str:
    """A sample utterance normalized like typed text, its {slot} markers kept."""
    parts = re.split(r"(\{\w+\})", sample)
    return " ".join(
        " ".join(p if p.startswith("{") else normalize(p) for p in parts).split()
    )
