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

@dataclass(frozen=True)
class Language:
    """What the stand-in needs to know of a language: spoken numbers as AMAZON.NUMBER and
    AMAZON.Ordinal deliver them (digits), the words of durations, and Alexa's launch phrases."""

    numbers: tuple[str, ...]  # 0, 1, 2 ... 20 spoken
    tens: dict[str, int]
    ordinals: tuple[str, ...]  # 0th, 1st ... 10th (the stems: endings are dropped)
    launch: tuple[str, ...]  # "open", "start" ...
    # "ask cramp coach to ...": regular expressions with {name}, the group the request.
    ask: str
    launch_and: str  # "open cramp coach and ..."; {launch} the launch words
    action_first: str  # "... using cramp coach"
    polite: tuple[str, ...]  # "please", "now" after the name
    one_shot: str  # how a request is said in the breath that opens the skill: {name} {request}
    minute: str  # regex of the word for minute(s)
    hour: str
    an_hour: tuple[str, ...]
    half_hour: tuple[str, ...]
    ones: tuple[str, ...] = ()  # other words for one ("ein", "eine"; "un", "una")
    compound: str = ""  # how 21..99 are built: "{unit}und{tens}" (German) or "{tens} {unit}"
    ordinal_endings: str = ""  # dropped from an ordinal before it is looked up


LANGUAGES: dict[str, Language] = {
    "en": Language(
        numbers=("zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                 "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                 "sixteen", "seventeen", "eighteen", "nineteen", "twenty"),
        tens={"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
              "seventy": 70, "eighty": 80, "ninety": 90},
        ordinals=("zeroth", "first", "second", "third", "fourth", "fifth", "sixth",
                  "seventh", "eighth", "ninth", "tenth"),
        launch=("open", "launch", "start", "begin", "load", "run", "use", "talk to", "resume",
                "play"),
        ask=r"(?:ask|tell)\s+{name}(?:\s+(?:(?:to|for|about|that|if|whether)\s+)?(.*))?",
        launch_and=r"(?:{launch})\s+{name}\s+(?:and then|and|to|for|about)\s+(.+)",
        action_first=r"(.+?)\s+(?:using|with|from|on)\s+{name}",
        polite=("please", "now"), one_shot="tell {name} {request}",
        minute=r"minutes?", hour=r"hours?",
        an_hour=("an hour", "one hour"), half_hour=("half an hour", "half hour"),
        compound="{tens} {unit}"),
    # German: Alexa's own phrases ("Alexa, öffne ...", "Alexa, frag ..., ob ...", "sag ...,
    # dass ...", "starte ...", "... mit cramp coach"); numbers as one word, "einundzwanzig".
    "de": Language(
        numbers=("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht",
                 "neun", "zehn", "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn",
                 "sechzehn", "siebzehn", "achtzehn", "neunzehn", "zwanzig"),
        tens={"zwanzig": 20, "dreißig": 30, "vierzig": 40, "fünfzig": 50, "sechzig": 60,
              "siebzig": 70, "achtzig": 80, "neunzig": 90},
        ordinals=("nullt", "erst", "zweit", "dritt", "viert", "fünft", "sechst", "siebt",
                  "acht", "neunt", "zehnt"),
        launch=("öffne", "öffnen", "starte", "starten", "beginne", "spiele", "lade"),
        ask=r"(?:frag|frage|sag|sage|bitte)\s+{name}(?:\s+(?:(?:ob|dass|nach|wegen|zu|um)\s+)?"
            r"(.*))?",
        launch_and=r"(?:{launch})\s+{name}\s+(?:und dann|und|für|mit)\s+(.+)",
        action_first=r"(.+?)\s+(?:mit|von|bei|über)\s+{name}",
        polite=("bitte", "jetzt"), one_shot="sag {name} {request}",
        minute=r"minuten?", hour=r"stunden?",
        an_hour=("eine stunde", "ein stunde"), half_hour=("eine halbe stunde", "halbe stunde"),
        ones=("ein", "eine", "einen", "einer"), compound="{unit}und{tens}",
        ordinal_endings=r"(?:e|er|en|es|em)$"),

    # Spanish, French, Italian and Portuguese: the numbers, ordinals and durations Alexa
    # resolves, and its launch phrases there ("abre cramp coach", "dile a cramp coach que ...").
    "es": Language(
        numbers=("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho",
                 "nueve", "diez", "once", "doce", "trece", "catorce", "quince", "dieciséis",
                 "diecisiete", "dieciocho", "diecinueve", "veinte"),
        tens={"veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60},
        ordinals=("cer", "primer", "segund", "tercer", "cuart", "quint", "sext", "séptim",
                  "octav", "noven", "décim"),
        launch=("abre", "inicia", "empieza", "comienza", "abrir"),
        ask=r"(?:pide a|pídele a|pregunta a|pregúntale a|dile a)\s+{name}(?:\s+(?:(?:que|si|"
            r"por|sobre|para)\s+)?(.*))?",
        launch_and=r"(?:{launch})\s+{name}\s+(?:y luego|y|para)\s+(.+)",
        action_first=r"(.+?)\s+(?:con|en|usando|desde)\s+{name}",
        polite=("por favor", "ahora"), one_shot="dile a {name} que {request}",
        minute=r"minutos?", hour=r"horas?", an_hour=("una hora", "un hora"),
        half_hour=("media hora",), ones=("un", "una"), compound="{tens} y {unit}",
        ordinal_endings=r"(?:o|a|os|as)$"),
    "fr": Language(
        numbers=("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf",
                 "dix", "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix sept",
                 "dix huit", "dix neuf", "vingt"),
        tens={"vingt": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60},
        ordinals=("zér", "prem", "deux", "trois", "quatr", "cinqu", "six", "sept", "huit",
                  "neuv", "dix"),
        launch=("ouvre", "lance", "démarre", "commence"),
        # "demande à cramp coach d'appeler le samu": the elided "d'" is glued to the request.
        ask=r"(?:demande à|dis à)\s+{name}(?:\s+(?:(?:de|si|que|pour)\s+|d'|qu')?(.*))?",
        launch_and=r"(?:{launch})\s+{name}\s+(?:et puis|et|pour)\s+(.+)",
        action_first=r"(.+?)\s+(?:avec|sur|depuis)\s+{name}",
        polite=("s'il te plaît", "s'il vous plaît", "maintenant"),
        one_shot="dis à {name} que {request}", minute=r"minutes?", hour=r"heures?",
        an_hour=("une heure",), half_hour=("une demi heure", "demi heure"), ones=("une",),
        compound="{tens} {unit}", ordinal_endings=r"(?:ième|ière|ier)$"),
    "it": Language(
        numbers=("zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove",
                 "dieci", "undici", "dodici", "tredici", "quattordici", "quindici", "sedici",
                 "diciassette", "diciotto", "diciannove", "venti"),
        tens={"venti": 20, "trenta": 30, "quaranta": 40, "cinquanta": 50, "sessanta": 60},
        ordinals=("zer", "prim", "second", "terz", "quart", "quint", "sest", "settim", "ottav",
                  "non", "decim"),
        launch=("apri", "avvia", "inizia", "lancia"),
        ask=r"(?:chiedi a|di' a|dì a|di a|dici a)\s+{name}(?:\s+(?:(?:di|se|che|per)\s+)?(.*))?",
        launch_and=r"(?:{launch})\s+{name}\s+(?:e poi|e|per)\s+(.+)",
        action_first=r"(.+?)\s+(?:con|su|da)\s+{name}",
        polite=("per favore", "adesso", "ora"), one_shot="chiedi a {name} {request}",
        minute=r"minut[oi]", hour=r"or[ae]", an_hour=("un'ora", "una ora"),
        half_hour=("mezz'ora", "mezza ora"), ones=("un", "una"), compound="{tens}{unit}",
        ordinal_endings=r"(?:o|a|i|e)$"),
    "pt": Language(
        numbers=("zero", "um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito", "nove",
                 "dez", "onze", "doze", "treze", "catorze", "quinze", "dezesseis", "dezessete",
                 "dezoito", "dezenove", "vinte"),
        tens={"vinte": 20, "trinta": 30, "quarenta": 40, "cinquenta": 50, "sessenta": 60},
        ordinals=("zer", "primeir", "segund", "terceir", "quart", "quint", "sext", "sétim",
                  "oitav", "non", "décim"),
        # "Alexa, abra o cramp coach", "abrir/iniciar cramp coach"; one-shots as Brazilians
        # say them: "peça ao/para o ...", "pede pro ...", "diz pro ... que ...".
        launch=("abra o", "abre o", "abrir o", "inicie o", "inicia o", "iniciar o", "abra",
                "abre", "abrir", "inicie", "inicia", "iniciar", "comece", "começa", "começar",
                "comece o", "começa o"),
        ask=r"(?:peça ao|peça para o|peça pro|peça para|pede ao|pede para o|pede pro|"
            r"pede para|pedir ao|pedir para o|pedir pro|pedir para|pergunte ao|pergunta ao|"
            r"pergunte pro|pergunta pro|pergunte para o|pergunta para o|perguntar ao|"
            r"perguntar pro|perguntar para o|diga ao|diz ao|diga pro|diz pro|diga para o|"
            r"diz para o|fale com o|fala com o|fale com|fala com|fale pro|fala pro)\s+{name}"
            r"(?:\s+(?:(?:que|se|para|pra|sobre)\s+)?(.*))?",
        launch_and=r"(?:{launch})\s+(?:o\s+)?{name}\s+(?:e depois|e|para|pra|que|porque)\s+"
                   r"(.+)",
        action_first=r"(.+?)\s+(?:com|no|usando)\s+(?:o\s+)?{name}",
        polite=("por favor", "agora"), one_shot="peça ao {name} {request}",
        minute=r"minutos?", hour=r"horas?", an_hour=("uma hora",), half_hour=("meia hora",),
        ones=("uma",), compound="{tens} e {unit}", ordinal_endings=r"(?:o|a|os|as)$"),}


def language_of(locale: str) -> Language:
    """The locale's language table; a language without one is understood word for word,
    numbers typed as digits only (the launch phrases English's)."""
    return LANGUAGES.get(locale.split("-")[0], _BARE)


_BARE = Language(numbers=(), tens={}, ordinals=(), launch=LANGUAGES["en"].launch,
                 ask=LANGUAGES["en"].ask, launch_and=LANGUAGES["en"].launch_and,
                 action_first=LANGUAGES["en"].action_first, polite=(),
                 one_shot=LANGUAGES["en"].one_shot, minute=r"\S+min\S*",
                 hour=r"\S+or\S*", an_hour=(), half_hour=())

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
# Other languages' hesitations ("äh", "ähm", "hm"): "er" and "um" are words there (German "er").
_DISFLUENCY_OTHER = re.compile(r"^(?:ä+h+m*|ö+h+m*|h+m+|m+h+m+)$")
# Sounds that look like hesitations but are words: kept whole before hesitations go.
_NOT_HESITATIONS = ((re.compile(r"\buh+ huh\b"), "uhhuh"), (re.compile(r"\buh+ oh\b"), "uhoh"),
                    (re.compile(r"\b(?:m+ h+m+|m+hm+)\b"), "mmhmm"))


def normalize(text: str, language: str = "en") -> str:
    """Lower case, curly quotes straightened, punctuation other than apostrophes dropped
    (letters with accents kept), hesitations dropped, English contractions expanded (English
    only), digits spoken one by one ("nine one one", "eins eins zwei") written as the number
    they name ("911", "112")."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[^\w' ]+|_", " ", text)
    text = " ".join(text.split())
    english = language == "en"
    if english:
        for pattern, word in _NOT_HESITATIONS:
            text = pattern.sub(word, text)
    words: list[str] = []
    for word in text.split():
        if english:
            word = _SPELLINGS.get(word, word)
        if (_DISFLUENCY if english else _DISFLUENCY_OTHER).fullmatch(word):
            continue
        words.extend((_CONTRACTIONS.get(word, word) if english else word).split())
    return " ".join(_join_digits(words, _digit_words(language)))


@functools.cache
def _digit_words(language: str) -> dict[str, str]:
    return {w: str(i) for i, w in enumerate(LANGUAGES.get(language, _BARE).numbers[:10])}


def _join_digits(words: list[str], digit_words: dict[str, str]) -> list[str]:
    """Two or more digits said one by one are one number: "one one two" and "1 1 2" are 112."""
    out: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if word in digit_words or (len(word) == 1 and word.isdigit()):
            run.append(word)
            continue
        if len(run) > 1:
            out.append("".join(digit_words.get(w, w) for w in run))
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
    # The words the sample spells out between its slots: an utterance that lacks one of them
    # cannot fit, so most samples are ruled out without running their expression.
    literals: tuple[str, ...] = ()
    whole: str | None = None  # a sample without slots: the only words that fit it

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.source)


@functools.cache
def _compiled(source: str) -> re.Pattern[str]:
    # Shared by every locale's Understanding: most samples are the same in each.
    return re.compile(source)


class Understanding:
    """The language model of one locale, ready to match typed utterances."""

    def __init__(self, model: dict[str, Any], locale: str = "en-US") -> None:
        language = model["interactionModel"]["languageModel"]
        self.locale = locale
        self.code = locale.split("-")[0]
        self.language = language_of(locale)
        self.invocation: str = language["invocationName"]
        self.synonyms: dict[str, dict[str, str]] = {
            t["name"]: {
                normalize(s, self.code): v.get("id") or v["name"]["value"]
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
        # A sample without slots fits only its own words: looked up whole. The others by the
        # words they can begin with, so an utterance is tried only against samples that could
        # fit it; those that begin with an open slot fit any first word.
        self._exact: dict[str, list[_Pattern]] = {}
        self._by_first_word: dict[str, list[_Pattern]] = {}
        self._any_first_word: list[_Pattern] = []
        for pattern in self.patterns:
            if pattern.whole is not None:
                self._exact.setdefault(pattern.whole, []).append(pattern)
                continue
            firsts = self._first_words(pattern)
            if firsts is None:
                self._any_first_word.append(pattern)
            for word in firsts or ():
                self._by_first_word.setdefault(word, []).append(pattern)
        self._order = {id(pattern): n for n, pattern in enumerate(self.patterns)}

    def _first_words(self, pattern: _Pattern) -> set[str] | None:
        """The words an utterance fitting the sample can begin with (None: any word)."""
        head = normalize_sample(pattern.sample, self.code).split(" ", 1)[0]
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
            path, locale = models / "en-US.json", "en-US"
        stat = path.stat()
        return _understanding(path, stat.st_mtime_ns, stat.st_size, locale)

    def _slot_regex(self, name: str, slot_type: str | None) -> str:
        if slot_type in self.synonyms and slot_type not in OPEN_SLOT_TYPES:
            # A closed type's values, longest first, so "left calf" is not heard as "left".
            values = sorted(self.synonyms[slot_type], key=len, reverse=True)
            return f"(?P<{name}>{'|'.join(map(re.escape, values))})"
        return f"(?P<{name}>.+?)"

    def _compile(self, intent: dict[str, Any], sample: str) -> _Pattern:
        types = {s["name"]: s["type"] for s in intent.get("slots", [])}
        parts = re.split(r"(\{\w+\})", normalize_sample(sample, self.code))
        regex = "".join(
            self._slot_regex(p[1:-1], types.get(p[1:-1])) if p.startswith("{") else re.escape(p)
            for p in parts
        )
        literal = sum(len(p) for p in parts if not p.startswith("{"))
        spelled = tuple(p.strip() for p in parts if p.strip() and not p.startswith("{"))
        whole = parts[0] if len(parts) == 1 else None
        return _Pattern(intent["name"], sample, regex, literal, types, spelled, whole)

    def understand(self, text: str) -> Understood:
        words = _WAKE.sub("", normalize(text, self.code))
        if not words:
            # Only a hesitation ("um") is something said that means nothing: a fallback, as
            # the console's empty line is silence.
            said = re.sub(r"[\W_]+", "", text.lower()) not in ("", "alexa", "heyalexa")
            return Understood("intent", "AMAZON.FallbackIntent") if said else Understood("silence")
        lang = self.language
        name = re.escape(normalize(self.invocation, self.code))
        launch = "|".join(lang.launch)
        polite = "|".join(lang.polite) or "(?!)"
        if re.fullmatch(rf"(?:(?:{launch})\s+)?{name}(?:\s+(?:{polite}))?", words):
            return Understood("launch")
        for form in (lang.ask, lang.launch_and, lang.action_first):
            match = re.fullmatch(form.format(name=name, launch=launch), words)
            if match:
                if not match.group(1):
                    return Understood("launch")
                return self._intent(match.group(1), one_shot=True)
        if re.match(rf"(?:{launch})\s+{name}\s", words):
            # "Open cramp coach, I've got a cramp": no launch phrase Alexa documents carries a
            # request without a connecting word, so the skill opens and the rest is not heard.
            return Understood("launch")
        return self._intent(words, one_shot=False)

    def _candidates(self, words: str) -> list[_Pattern]:
        """The samples the words could fit: those with the words' first word in the model's
        order, then those that begin with an open slot (the first of equals wins)."""
        exact = self._exact.get(words, ())
        firsts = self._by_first_word.get(words.split(" ", 1)[0], ())
        if exact and firsts:
            firsts = sorted((*exact, *firsts), key=lambda pattern: self._order[id(pattern)])
        return [*(firsts or exact), *self._any_first_word]

    def matches(self, text: str) -> list[tuple[str, str]]:
        """Every (intent, sample) whose pattern the words fit, best first: for tests and tools."""
        words = normalize(text, self.code)
        found = [(self._score(p, s), p.intent, p.sample) for p in self._candidates(words)
                 if (s := self._fill(p, words)) is not None]
        return [(intent, sample) for _, intent, sample in sorted(found, key=lambda f: -f[0])]

    def _fill(self, pattern: _Pattern, words: str) -> dict[str, Slot] | None:
        if pattern.whole is not None:
            return self._slots(pattern, {}) if words == pattern.whole else None
        if not all(literal in words for literal in pattern.literals):
            return None
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
                number = _number(value, self.language)
                if number is None:
                    return None  # Alexa fills a number slot only with a number
                slots[name] = Slot(str(number))
            elif slot_type == "AMAZON.DURATION":
                duration = _duration(value, self.language)
                if duration is None:
                    return None
                slots[name] = Slot(duration)
            elif slot_type == "AMAZON.Ordinal":
                number = _ordinal(value, self.language)
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


def _number(words: str, lang: Language = LANGUAGES["en"]) -> int | None:
    """"15", "fifteen", "thirty", "forty five", "fünfundzwanzig" -> the number; else None."""
    if words.isdigit():
        return int(words)
    numbers = {w: i for i, w in enumerate(lang.numbers)} | dict.fromkeys(lang.ones, 1)
    if words in numbers or words in lang.tens:
        return numbers.get(words, lang.tens.get(words))
    if lang.compound:  # "forty five", "fünfundzwanzig", "venticinque"
        return _compounds(lang).get(words)
    return None


_COMPOUNDS: dict[int, dict[str, int]] = {}


def _compounds(lang: Language) -> dict[str, int]:
    """Every number from 21 to 69 as the language builds it from its tens and units (kept:
    the matcher asks for numbers often)."""
    built = _COMPOUNDS.get(id(lang))
    if built is None:
        built = {lang.compound.format(tens=t, unit=u): value + i
                 for t, value in lang.tens.items()
                 for i, u in enumerate(lang.numbers[:10]) if i > 0}
        built |= {lang.compound.format(tens=t, unit=u): value + 1
                  for t, value in lang.tens.items() for u in lang.ones}
        _COMPOUNDS[id(lang)] = built
    return built


def _ordinal(words: str, lang: Language) -> int | None:
    """"third", "dritten" -> 3, as AMAZON.Ordinal resolves it."""
    stem = re.sub(lang.ordinal_endings, "", words) if lang.ordinal_endings else words
    return lang.ordinals.index(stem) if stem in lang.ordinals else None


def _duration(words: str, lang: Language = LANGUAGES["en"]) -> str | None:
    """"twenty minutes", "zwanzig Minuten" -> "PT20M", as AMAZON.DURATION resolves it."""
    if words in lang.an_hour:
        return "PT1H"
    if words in lang.half_hour:
        return "PT30M"
    match = re.fullmatch(rf"(.+?) ({lang.minute}|{lang.hour})", words)
    number = _number(match.group(1), lang) if match else None
    if match is None or number is None:
        return None
    return f"PT{number}{'M' if re.fullmatch(lang.minute, match.group(2)) else 'H'}"


_SLOT = re.compile(r"\{(\w+)\}")


@functools.cache  # a model's samples are normalized for its matcher and its checks alike
def normalize_sample(sample: str, language: str = "en") -> str:
    """A sample utterance normalized like typed text, its {slot} markers kept where they were
    ("{person}'s" stays joined to its "'s")."""
    names = _SLOT.findall(sample)
    marked = _SLOT.sub(lambda m: f" qqslot{names.index(m.group(1))}qq ", sample)
    # The marker stands alone while normalizing; glue back what followed the slot directly.
    marked = re.sub(r"qq (?=')", "qq", marked)
    text = normalize(marked, language)
    return re.sub(r"qqslot(\d+)qq", lambda m: "{" + names[int(m.group(1))] + "}", text)


@functools.lru_cache(maxsize=32)
def _understanding(path: Path, mtime_ns: int, size: int, locale: str) -> Understanding:
    """One matcher per model file as it is now: building one compiles thousands of patterns,
    and the console, the tests and the tools ask for the same few again and again (a file
    changed on disk has a new mtime and size, so it is read again)."""
    return Understanding(json.loads(path.read_text(encoding="utf-8")), locale)
