"""Typed words to Alexa requests, from the interaction model's own sample utterances.

A small stand-in for Alexa's language understanding, for the console and the tests: it matches
whole utterances against the samples, literally (a slot matches one of its type's values, or
any words for an open type or a built-in one), resolves custom slot values to their ids, turns
spoken numbers into digits as AMAZON.NUMBER does, and falls back to AMAZON.FallbackIntent.

Literal on purpose: the model is judged by what it lists, not by a matcher's guesses. The only
liberties are the ones Alexa's speech recognition evidently takes before its NLU sees the
words: a leading "alexa" / "hey alexa" and the hesitations "um", "uh", "er", "erm", "hmm" are
not part of the request; "I'm" and "I am" (and the other common contractions), "ok" and
"okay", "alright" and "all right", "nine one one" and "911" are one utterance each.

It knows Alexa's ways of opening a skill, with or without a request in the same breath: "open
cramp coach", "ask cramp coach to ...", "tell cramp coach ...", "open cramp coach and ...",
"... using cramp coach".
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooling.standins.alexa import Slot

MODELS = Path(__file__).resolve().parents[2] / "interaction_models"

# Custom slot types whose unknown values still fill the slot, unresolved (ER_SUCCESS_NO_MATCH),
# as Alexa fills them: "{person} has {symptom}" with a sign the model doesn't list reaches the
# skill as an unclear sign, which it asks about. Alexa does that for words that sound like the
# type's values, not for any sentence a carrier like "I {symptom}" could frame: an unknown value
# here must share a word the model uses only in that type's values ("a sharp stabbing pain"
# shares "pain"; "sitting on the bench" shares none, and is not heard as a sign). Every other
# custom type matches only its own values, so a person or a muscle slot swallows no stray words.
OPEN_SLOT_TYPES = frozenset({"RED_FLAG"})

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
_DIGIT_WORDS = {w: str(i) for w, i in _NUMBERS.items() if i < 10}
_LAUNCH_WORDS = ("open", "launch", "start", "begin", "load", "run", "use", "talk to", "resume",
                 "play")
# "ask cramp coach to ...", "tell cramp coach that ...": {name} is the invocation name.
_ASK = r"(?:ask|tell)\s+{name}(?:\s+(?:(?:to|for|about|that|if|whether)\s+)?(.*))?"
# "open cramp coach and ...", "start cramp coach for ...".
_LAUNCH_AND = r"(?:{launch})\s+{name}\s+(?:and then|and|to|for|about)\s+(.+)"
# "... using cramp coach", "... with cramp coach", "... from cramp coach".
_ACTION_FIRST = r"(.+?)\s+(?:using|with|from|on)\s+{name}"
_WAKE = re.compile(r"^(?:hey |okay )?alexa(?: |$)")


# People type (and Alexa hears) "I am done" as readily as "I'm done": both sides of a match
# are expanded, so one sample covers both.
_CONTRACTIONS = {
    "i'm": "i am", "i've": "i have", "i'll": "i will", "i'd": "i would", "it's": "it is",
    "what's": "what is", "that's": "that is", "there's": "there is", "let's": "let us",
    "you're": "you are", "they're": "they are", "we're": "we are", "can't": "cannot",
    "won't": "will not", "don't": "do not", "isn't": "is not", "haven't": "have not",
    "didn't": "did not", "doesn't": "does not", "he's": "he is", "she's": "she is",
    "we've": "we have", "they've": "they have", "you've": "you have", "we'll": "we will",
    "she'll": "she will", "he'll": "he will", "they'll": "they will", "it'll": "it will",
    "aren't": "are not", "wasn't": "was not", "weren't": "were not", "hasn't": "has not",
    "hadn't": "had not", "couldn't": "could not", "shouldn't": "should not",
    "wouldn't": "would not", "where's": "where is", "how's": "how is", "who's": "who is",
    "here's": "here is", "we'd": "we would", "she'd": "she would", "he'd": "he would",
    "they'd": "they would", "you'll": "you will", "you'd": "you would",
}
# One word spelt two ways: the transcript may have either.
_SPELLINGS = {"ok": "okay", "alright": "all right", "nevermind": "never mind"}
# Hesitations, never part of a request (Alexa's transcripts leave them out).
_DISFLUENCY = re.compile(r"^(?:u+m+|u+h+|u+h+m+|e+r+|e+r+m+|h+m+)$")
# Sounds that look like hesitations but are words: kept whole before hesitations go.
_NOT_HESITATIONS = ((re.compile(r"\buh+ huh\b"), "uhhuh"), (re.compile(r"\buh+ oh\b"), "uhoh"),
                    (re.compile(r"\b(?:m+ h+m+|m+hm+)\b"), "mmhmm"))


def normalize(text: str) -> str:
    """Lower case, curly quotes straightened, punctuation other than apostrophes dropped,
    hesitations dropped, common contractions expanded, digits spoken one by one ("nine one
    one") written as the number they name ("911")."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    text = " ".join(text.split())
    for pattern, word in _NOT_HESITATIONS:
        text = pattern.sub(word, text)
    words: list[str] = []
    for word in text.split():
        word = _SPELLINGS.get(word, word)
        if _DISFLUENCY.fullmatch(word):
            continue
        words.extend(_CONTRACTIONS.get(word, word).split())
    return " ".join(_join_digits(words))


def _join_digits(words: list[str]) -> list[str]:
    """Two or more digits said one by one are one number: "one one two" and "1 1 2" are 112."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if word in _DIGIT_WORDS or (len(word) == 1 and word.isdigit()):
            run.append(word)
            continue
        if len(run) > 1:
            out.append("".join(_DIGIT_WORDS.get(w, w) for w in run))
        else:
            out.extend(run)
        run = []
        if word:
            out.append(word)
    return out


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
    sample: str
    source: str  # the regular expression, compiled when first needed
    literal_length: int
    slot_types: dict[str, str]

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.source)


@functools.cache
def _compiled(source: str) -> re.Pattern[str]:
    # Shared by every locale's Understanding: most samples are the same in each.
    return re.compile(source)


class Understanding:
    """The language model of one locale, ready to match typed utterances."""

    def __init__(self, model: dict[str, Any]) -> None:
        language = model["interactionModel"]["languageModel"]
        self.invocation: str = language["invocationName"]
        self.synonyms: dict[str, dict[str, str]] = {
            t["name"]: {
                normalize(s): v.get("id") or v["name"]["value"]
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
        # The words of an open type's values that no sample spells out: what makes an unknown
        # value sound like one of them (see OPEN_SLOT_TYPES).
        spelled = {word for sample in (p.sample for p in self.patterns)
                   for word in re.sub(r"\{\w+\}", " ", normalize_sample(sample)).split()}
        self._type_words: dict[str, frozenset[str]] = {
            name: frozenset(word for value in self.synonyms.get(name, {})
                            for word in value.split()) - spelled
            for name in OPEN_SLOT_TYPES}
        # Samples by the words they can begin with, so an utterance is tried only against
        # samples that could fit it; those that begin with an open slot fit any first word.
        self._by_first_word: dict[str, list[_Pattern]] = {}
        self._any_first_word: list[_Pattern] = []
        for pattern in self.patterns:
            firsts = self._first_words(pattern)
            if firsts is None:
                self._any_first_word.append(pattern)
            for word in firsts or ():
                self._by_first_word.setdefault(word, []).append(pattern)

    def _first_words(self, pattern: _Pattern) -> set[str] | None:
        """The words an utterance fitting the sample can begin with (None: any word)."""
        head = normalize_sample(pattern.sample).split(" ", 1)[0]
        slot = re.fullmatch(r"\{(\w+)\}(\S*)", head)
        if slot is None:
            return {head}
        slot_type = pattern.slot_types.get(slot.group(1))
        if slot_type not in self.synonyms or slot_type in OPEN_SLOT_TYPES:
            return None
        # "{person}'s done": a one-word value runs into what follows the slot ("mom's").
        return {value + slot.group(2) if " " not in value else value.split(" ", 1)[0]
                for value in self.synonyms[slot_type]}

    @classmethod
    def for_locale(cls, locale: str, models: Path = MODELS) -> Understanding:
        path = models / f"{locale}.json"
        if not path.exists():
            path = models / "en-US.json"
        return cls(json.loads(path.read_text()))

    def _slot_regex(self, name: str, slot_type: str | None) -> str:
        if slot_type in self.synonyms and slot_type not in OPEN_SLOT_TYPES:
            # A closed type's values, longest first, so "left calf" is not heard as "left".
            values = sorted(self.synonyms[slot_type], key=len, reverse=True)
            return f"(?P<{name}>{'|'.join(map(re.escape, values))})"
        return f"(?P<{name}>.+?)"

    def _compile(self, intent: dict[str, Any], sample: str) -> _Pattern:
        types = {s["name"]: s["type"] for s in intent.get("slots", [])}
        parts = re.split(r"(\{\w+\})", normalize_sample(sample))
        regex = "".join(
            self._slot_regex(p[1:-1], types.get(p[1:-1])) if p.startswith("{") else re.escape(p)
            for p in parts
        )
        literal = sum(len(p) for p in parts if not p.startswith("{"))
        return _Pattern(intent["name"], sample, regex, literal, types)

    def understand(self, text: str) -> Understood:
        words = _WAKE.sub("", normalize(text))
        if not words:
            # Only a hesitation ("um") is something said that means nothing: a fallback, as
            # the console's empty line is silence.
            said = re.sub(r"[^a-z0-9]+", "", text.lower()) not in ("", "alexa", "heyalexa")
            return Understood("intent", "AMAZON.FallbackIntent") if said else Understood("silence")
        name = re.escape(normalize(self.invocation))
        launch = "|".join(_LAUNCH_WORDS)
        if re.fullmatch(rf"(?:(?:{launch})\s+)?{name}(?:\s+(?:please|now))?", words):
            return Understood("launch")
        for form in (_ASK, _LAUNCH_AND, _ACTION_FIRST):
            match = re.fullmatch(form.format(name=name, launch=launch), words)
            if match:
                if not match.group(1):
                    return Understood("launch")
                return self._intent(match.group(1), one_shot=True)
        return self._intent(words, one_shot=False)

    def _candidates(self, words: str) -> list[_Pattern]:
        return [*self._by_first_word.get(words.split(" ", 1)[0], ()), *self._any_first_word]

    def matches(self, text: str) -> list[tuple[str, str]]:
        """Every (intent, sample) whose pattern the words fit, best first: for tests and tools."""
        words = normalize(text)
        found = [(self._score(p, s), p.intent, p.sample) for p in self._candidates(words)
                 if (s := self._fill(p, words)) is not None]
        return [(intent, sample) for _, intent, sample in sorted(found, key=lambda f: -f[0])]

    def _fill(self, pattern: _Pattern, words: str) -> dict[str, Slot] | None:
        match = pattern.regex.fullmatch(words)
        return None if match is None else self._slots(pattern, match.groupdict())

    @staticmethod
    def _score(pattern: _Pattern, slots: dict[str, Slot]) -> int:
        # Words the sample spells out, or a slot value the model lists, count; words an open
        # slot took without knowing them do not: the more of the utterance the model knows, the
        # better the match.
        return pattern.literal_length + sum(len(s.value or "") for s in slots.values()
                                            if s.resolved_id)

    def _intent(self, words: str, *, one_shot: bool) -> Understood:
        best: tuple[int, str, dict[str, Slot]] | None = None
        for pattern in self._candidates(words):
            slots = self._fill(pattern, words)
            if slots is None:
                continue
            score = self._score(pattern, slots)
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
                if resolved is None and slot_type not in OPEN_SLOT_TYPES:
                    return None  # a closed type's slot holds only the words the type knows
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
        return slots if self._framed(pattern, slots) else None

    def _framed(self, pattern: _Pattern, slots: dict[str, Slot]) -> bool:
        """An unknown value fills an open slot (see OPEN_SLOT_TYPES) when it sounds like the
        type's values, or when the sentence frames it as one: about someone or a body part the
        model knows, with words of the sample's own ("my husband has ...", "my calf is ...");
        not when a bare carrier ("I ...", "it's ...") is all there is."""
        unknown = [s for s in slots.values()
                   if s.custom_type in OPEN_SLOT_TYPES and s.resolved_id is None]
        if not unknown:
            return True
        sounds_like = all(self._type_words[s.custom_type or ""] & set((s.value or "").split())
                          for s in unknown)
        about = any(s.resolved_id for s in slots.values() if s.custom_type not in OPEN_SLOT_TYPES)
        spelled = re.sub(r"\{\w+\}", " ", normalize_sample(pattern.sample)).split()
        return sounds_like or (about and bool(spelled))


_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}


def _number(words: str) -> int | None:
    """"15", "fifteen", "thirty", "forty five" -> the number; anything else -> None."""
    if words.isdigit():
        return int(words)
    if words in _NUMBERS or words in _TENS:
        return _NUMBERS.get(words, _TENS.get(words))
    tens, _, unit = words.partition(" ")
    if tens in _TENS and 0 < _NUMBERS.get(unit, 0) < 10:
        return _TENS[tens] + _NUMBERS[unit]
    return None


_DURATION = re.compile(r"^(\w+) (minute|minutes|hour|hours)$")


def _duration(words: str) -> str | None:
    """"twenty minutes" -> "PT20M", as AMAZON.DURATION resolves it."""
    if words in ("an hour", "one hour"):
        return "PT1H"
    if words in ("half an hour", "half hour"):
        return "PT30M"
    match = _DURATION.match(words)
    number = _number(match.group(1)) if match else None
    if match is None or number is None:
        return None
    return f"PT{number}{'H' if match.group(2).startswith('hour') else 'M'}"


_SLOT = re.compile(r"\{(\w+)\}")


def normalize_sample(sample: str) -> str:
    """A sample utterance normalized like typed text, its {slot} markers kept where they were
    ("{person}'s" stays joined to its "'s")."""
    names = _SLOT.findall(sample)
    marked = _SLOT.sub(lambda m: f" qqslot{names.index(m.group(1))}qq ", sample)
    # The marker stands alone while normalizing; glue back what followed the slot directly.
    marked = re.sub(r"qq (?=')", "qq", marked)
    text = normalize(marked)
    return re.sub(r"qqslot(\d+)qq", lambda m: "{" + names[int(m.group(1))] + "}", text)
