"""The interaction model, written from how people speak, and the literal matcher that judges it.

The matcher (tooling/standins/nlu.py) stands in for Alexa's NLU in the console and the tests: it
hears a sample's words and nothing else, apart from what Alexa's speech recognition evidently
does (hesitations and the wake word dropped, "I'm" and "I am" alike). Its own rules are tested on
a small model of their own; the real models are tested for what people say in each situation.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from skill.speech import TEMPLATES
from tests.conftest import MAIN_LOCALES
from tooling.build.publishing import PROJECT_ROOT, check_interaction_model, model_files
from tooling.standins.alexa import Alexa, Reply, _slots
from tooling.standins.nlu import OPEN_SLOT_TYPES, Understanding, Understood

MODELS = model_files(PROJECT_ROOT)
LOCALES = sorted(MODELS)
FALLBACK = "AMAZON.FallbackIntent"


def load(locale: str) -> dict[str, Any]:
    model: dict[str, Any] = json.loads(MODELS[locale].read_text(encoding="utf-8"))
    return model


def language(model: dict[str, Any]) -> dict[str, Any]:
    lm: dict[str, Any] = model["interactionModel"]["languageModel"]
    return lm


def intent_of(model: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in language(model)["intents"] if i["name"] == name)
    return found


def type_values(model: dict[str, Any], type_name: str) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = next(
        t["values"] for t in language(model)["types"] if t["name"] == type_name)
    return values


@cache
def understanding(locale: str) -> Understanding:
    return Understanding.for_locale(locale)


def heard(text: str, locale: str = "en-US") -> Understood:
    return understanding(locale).understand(text)


def resolved(understood: Understood) -> dict[str, str | None]:
    return {name: slot.resolved_id or slot.value for name, slot in understood.slots.items()}


# --- the matcher, on a model of its own -------------------------------------------------------

TINY: dict[str, Any] = {"interactionModel": {"languageModel": {
    "invocationName": "tiny coach",
    "intents": [
        {"name": "NextIntent", "samples": ["next", "I'm done"]},
        {"name": "YesIntent", "samples": ["yes", "uh huh"]},
        {"name": "EmergencyIntent", "samples": ["call nine one one"]},
        {"name": "StartIntent", "slots": [{"name": "muscle", "type": "MUSCLE"}],
         "samples": ["help with my {muscle}"]},
        {"name": "HelperIntent", "slots": [{"name": "person", "type": "PERSON"}],
         "samples": ["{person} has a cramp"]},
        {"name": "RedFlagIntent", "slots": [{"name": "symptom", "type": "RED_FLAG"},
                                            {"name": "person", "type": "PERSON"}],
         "samples": ["I {symptom}", "{person} has {symptom}"]},
        {"name": "TimerIntent", "slots": [{"name": "minutes", "type": "AMAZON.NUMBER"}],
         "samples": ["{minutes} minutes"]},
        {"name": "AMAZON.FallbackIntent", "samples": []},
    ],
    "types": [
        {"name": "RED_FLAG", "values": [
            {"id": "fall", "name": {"value": "fell", "synonyms": ["fell over"]}},
            {"id": "swelling", "name": {"value": "swelling", "synonyms": ["a swollen leg"]}}]},
        {"name": "PERSON", "values": [
            {"id": "wife", "name": {"value": "my wife"}},
            {"id": "she", "name": {"value": "she"}}]},
        {"name": "MUSCLE", "values": [
            {"id": "calf", "name": {"value": "calf", "synonyms": ["left calf"]}}]},
    ],
}}}
TINY_NLU = Understanding(TINY)


@pytest.mark.parametrize("said", ["um next", "Alexa, next", "hey Alexa, uh, next",
                                  "er, erm, next hmm", "Umm... next", "alexa uhm next"])
def test_hesitations_and_the_wake_word_are_not_part_of_the_request(said: str) -> None:
    """"Um", "uh", "er", "erm", "hmm" and a leading "Alexa" are dropped before matching."""
    assert TINY_NLU.understand(said).intent == "NextIntent"


def test_i_am_and_im_are_one_utterance() -> None:
    """A sample with a contraction matches the words spelt out, as Alexa hears either."""
    assert TINY_NLU.understand("I am done").intent == "NextIntent"
    assert TINY_NLU.understand("I\u2019m done.").intent == "NextIntent"


def test_sounds_that_look_like_hesitations_but_are_words_stay() -> None:
    """"Uh huh" is a yes, not a hesitation and a "huh"."""
    assert TINY_NLU.understand("uh huh").intent == "YesIntent"


@pytest.mark.parametrize("said", ["call 911", "call nine one one", "Call 9 1 1!"])
def test_digits_said_one_by_one_are_the_number(said: str) -> None:
    """"Nine one one" and "911" are one request, however the transcript writes it."""
    assert TINY_NLU.understand(said).intent == "EmergencyIntent"


@pytest.mark.parametrize("said", ["okay next", "next please", "nexxt", "so I'm done",
                                  "so I fell", "help with my elbow", "my sister has a cramp"])
def test_nothing_fuzzier_than_that(said: str) -> None:
    """Filler, politeness, misspellings and unknown people or muscles are not guessed at: the
    model has to list them, so the corpus judges the model and not the matcher."""
    assert TINY_NLU.understand(said).intent == FALLBACK


def test_a_closed_slot_type_hears_its_values_and_synonyms_by_id() -> None:
    """A person or muscle slot holds one of its type's phrases, resolved to the value's id."""
    understood = TINY_NLU.understand("help with my left calf")
    assert understood.intent == "StartIntent"
    assert understood.slots["muscle"].resolved_id == "calf"


def test_an_unknown_sign_fills_the_red_flag_slot_unresolved() -> None:
    """A RED_FLAG slot takes words the type doesn't know, unresolved (ER_SUCCESS_NO_MATCH on
    the wire), as Alexa fills it: the skill then asks."""
    assert "RED_FLAG" in OPEN_SLOT_TYPES
    understood = TINY_NLU.understand("my wife has a weird rash")
    assert understood.intent == "RedFlagIntent"
    symptom = understood.slots["symptom"]
    assert (symptom.value, symptom.resolved_id, symptom.custom_type) == (
        "a weird rash", None, "RED_FLAG")
    wire = _slots(understood.slots)["symptom"]["resolutions"]["resolutionsPerAuthority"][0]
    assert wire["status"]["code"] == "ER_SUCCESS_NO_MATCH"


def test_a_known_value_beats_words_an_open_slot_took() -> None:
    """"My wife has a cramp" is the helper's sample, not an unknown sign, and a listed sign
    resolves."""
    assert TINY_NLU.understand("my wife has a cramp").intent == "HelperIntent"
    understood = TINY_NLU.understand("she has a swollen leg")
    assert (understood.intent, resolved(understood)) == (
        "RedFlagIntent", {"person": "she", "symptom": "swelling"})
    assert resolved(TINY_NLU.understand("I fell over")) == {"symptom": "fall"}


def test_numbers_fill_number_slots_only() -> None:
    """A number slot takes a number, spoken or in digits, and nothing else."""
    assert resolved(TINY_NLU.understand("twenty minutes")) == {"minutes": "20"}
    assert resolved(TINY_NLU.understand("15 minutes")) == {"minutes": "15"}
    assert resolved(TINY_NLU.understand("forty five minutes")) == {"minutes": "45"}
    assert TINY_NLU.understand("many minutes").intent == FALLBACK


@pytest.mark.parametrize(("said", "intent"), [
    ("ask tiny coach to help with my calf", "StartIntent"),
    ("Alexa, ask tiny coach, um, to help with my calf", "StartIntent"),
    ("tell tiny coach my wife has a cramp", "HelperIntent"),
    ("tell tiny coach that I fell", "RedFlagIntent"),
    ("open tiny coach and help with my calf", "StartIntent"),
    ("start tiny coach and then help with my calf", "StartIntent"),
    ("help with my calf using tiny coach", "StartIntent"),
])
def test_a_request_in_the_same_breath_as_the_skill_name(said: str, intent: str) -> None:
    """Alexa's ways of naming the skill with a request open a session with that intent."""
    understood = TINY_NLU.understand(said)
    assert (understood.kind, understood.intent, understood.one_shot) == ("intent", intent, True)


@pytest.mark.parametrize("said", ["open tiny coach", "Alexa, launch tiny coach", "ask tiny coach",
                                  "open tiny coach please",
                                  "talk to tiny coach", "tiny coach", "hey alexa start tiny coach"])
def test_the_skill_name_alone_launches(said: str) -> None:
    """Naming the skill with a launch word and nothing else is a LaunchRequest."""
    assert TINY_NLU.understand(said).kind == "launch"


def test_silence_is_silence_and_a_hesitation_alone_is_not_understood() -> None:
    """Nothing said is silence; only "um" is something said that means nothing: a fallback."""
    assert TINY_NLU.understand("").kind == "silence"
    assert TINY_NLU.understand("Alexa,").kind == "silence"
    assert TINY_NLU.understand("um... hmm").intent == FALLBACK


# --- the real models ---------------------------------------------------------------------------


@pytest.mark.parametrize("in_locale", LOCALES)
def test_every_sample_is_heard_as_its_own_intent(in_locale: str) -> None:
    """No sample is shadowed: said as written, each one is its own intent's (slots aside)."""
    model = load(in_locale)
    wrong = {(i["name"], s, intent) for i in language(model)["intents"]
             for s in i.get("samples", []) if "{" not in s
             if (intent := heard(s, in_locale).intent) != i["name"]}
    assert not wrong


# Every phrase a template suggests with hint("..."), and the intent that does what it says,
# per language (each language's templates suggest their own phrases).
HINTS = {
    "next": "AMAZON.NextIntent", "repeat": "AMAZON.RepeatIntent",
    "go back": "AMAZON.PreviousIntent", "yes": "AMAZON.YesIntent", "no": "AMAZON.NoIntent",
    "keep massaging": "KeepMassagingIntent", "fifteen": "SetTimerIntent",
    "twenty": "SetTimerIntent", "no thanks": "AMAZON.NoIntent", "set a timer": "SetTimerIntent",
    "I've parked": "ParkedIntent", "start over": "AMAZON.StartOverIntent",
    "stop": "AMAZON.StopIntent", "carry on": "AMAZON.ResumeIntent",
    "start": "StartRoutineIntent", "what do I need": "ChecklistIntent",
    "how do I stop this happening again": "PreventionIntent",
    "tell me more": "MoreDetailIntent", "it hurts more": "HurtsMoreIntent",
    "help": "AMAZON.HelpIntent",
}
HINTS_BY_LANGUAGE = {
    "en": HINTS,
    "de": {
        "weiter": "AMAZON.NextIntent", "wiederholen": "AMAZON.RepeatIntent",
        "zurück": "AMAZON.PreviousIntent", "ja": "AMAZON.YesIntent", "nein": "AMAZON.NoIntent",
        "weiter massieren": "KeepMassagingIntent", "fünfzehn": "SetTimerIntent",
        "zwanzig": "SetTimerIntent", "nein danke": "AMAZON.NoIntent",
        "Timer stellen": "SetTimerIntent", "ich habe geparkt": "ParkedIntent",
        "neu anfangen": "AMAZON.StartOverIntent", "stopp": "AMAZON.StopIntent",
        "weitermachen": "AMAZON.ResumeIntent", "starten": "StartRoutineIntent",
        "was brauche ich": "ChecklistIntent", "wie verhindere ich das": "PreventionIntent",
        "mehr dazu": "MoreDetailIntent", "es tut mehr weh": "HurtsMoreIntent",
        "Hilfe": "AMAZON.HelpIntent",
    },
    "es": {
        "siguiente": "AMAZON.NextIntent", "repite": "AMAZON.RepeatIntent",
        "atrás": "AMAZON.PreviousIntent", "sí": "AMAZON.YesIntent", "no": "AMAZON.NoIntent",
        "más masaje": "KeepMassagingIntent", "quince": "SetTimerIntent",
        "veinte": "SetTimerIntent", "no gracias": "AMAZON.NoIntent",
        "pon un temporizador": "SetTimerIntent", "ya me estacioné": "ParkedIntent",
        "ya he aparcado": "ParkedIntent", "empieza de nuevo": "AMAZON.StartOverIntent",
        "empezar de nuevo": "AMAZON.StartOverIntent", "detente": "AMAZON.StopIntent",
        "continuar": "AMAZON.ResumeIntent", "empieza": "StartRoutineIntent",
        "qué necesito": "ChecklistIntent",
        "cómo evito que me vuelva a pasar": "PreventionIntent",
        "dime más": "MoreDetailIntent", "me duele más": "HurtsMoreIntent",
        "ayuda": "AMAZON.HelpIntent",
    },
    "fr": {
        "suivant": "AMAZON.NextIntent", "répète": "AMAZON.RepeatIntent",
        "retour": "AMAZON.PreviousIntent", "oui": "AMAZON.YesIntent", "non": "AMAZON.NoIntent",
        "continuer le massage": "KeepMassagingIntent", "quinze": "SetTimerIntent",
        "vingt": "SetTimerIntent", "non merci": "AMAZON.NoIntent",
        "mets un minuteur": "SetTimerIntent", "mets une minuterie": "SetTimerIntent",
        "je suis garé": "ParkedIntent", "je suis stationné": "ParkedIntent",
        "recommencer": "AMAZON.StartOverIntent", "stop": "AMAZON.StopIntent",
        "continuer": "AMAZON.ResumeIntent", "commencer": "StartRoutineIntent",
        "de quoi j'ai besoin": "ChecklistIntent",
        "comment éviter les crampes": "PreventionIntent",
        "plus de détails": "MoreDetailIntent", "la douleur augmente": "HurtsMoreIntent",
        "aide": "AMAZON.HelpIntent",
    },
    "it": {
        "avanti": "AMAZON.NextIntent", "ripeti": "AMAZON.RepeatIntent",
        "indietro": "AMAZON.PreviousIntent", "sì": "AMAZON.YesIntent", "no": "AMAZON.NoIntent",
        "continua a massaggiare": "KeepMassagingIntent", "quindici": "SetTimerIntent",
        "venti": "SetTimerIntent", "no grazie": "AMAZON.NoIntent",
        "imposta un timer": "SetTimerIntent", "ho parcheggiato": "ParkedIntent",
        "ricomincia": "AMAZON.StartOverIntent", "stop": "AMAZON.StopIntent",
        "riprendi": "AMAZON.ResumeIntent", "inizia": "StartRoutineIntent",
        "cosa mi serve": "ChecklistIntent", "come evito che succeda ancora": "PreventionIntent",
        "dimmi di più": "MoreDetailIntent", "fa più male": "HurtsMoreIntent",
        "aiuto": "AMAZON.HelpIntent",
    },
    "pt": {
        "próximo": "AMAZON.NextIntent", "repetir": "AMAZON.RepeatIntent",
        "voltar": "AMAZON.PreviousIntent", "sim": "AMAZON.YesIntent", "não": "AMAZON.NoIntent",
        "continuar a massagem": "KeepMassagingIntent", "15": "SetTimerIntent",
        "20": "SetTimerIntent", "não obrigado": "AMAZON.NoIntent",
        "colocar um timer": "SetTimerIntent", "estacionei": "ParkedIntent",
        "recomeçar": "AMAZON.StartOverIntent", "parar": "AMAZON.StopIntent",
        "continuar": "AMAZON.ResumeIntent", "começar": "StartRoutineIntent",
        "do que eu preciso": "ChecklistIntent",
        "como evito que isso aconteça de novo": "PreventionIntent",
        "me fale mais": "MoreDetailIntent", "está doendo mais": "HurtsMoreIntent",
        "ajuda": "AMAZON.HelpIntent",
    },
}
LANGUAGES = sorted({locale.split("-")[0] for locale in LOCALES})


def suggested_phrases(language: str = "en") -> set[str]:
    """The phrases the language's templates suggest (its folder and its countries')."""
    folders = [p for p in TEMPLATES.iterdir() if p.is_dir() and p.name.split("-")[0] == language]
    return {phrase for folder in folders for path in folder.rglob("*.ssml")
            for phrase in re.findall(r'hint\("([^"]+)"\)', path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_suggested_phrase_has_an_intent_here(lang: str) -> None:
    """A new hint in a template needs its intent named here (HINTS_BY_LANGUAGE, a table per
    language), so the next test can check it."""
    assert lang in HINTS_BY_LANGUAGE, f"add the {lang} hints and their intents"
    assert suggested_phrases(lang) == set(HINTS_BY_LANGUAGE[lang])


@pytest.mark.parametrize("in_locale", LOCALES)
def test_every_suggested_phrase_leads_to_the_intent_that_does_it(in_locale: str) -> None:
    """Saying what the skill suggests does what the suggestion says, in every locale."""
    hints = HINTS_BY_LANGUAGE.get(in_locale.split("-")[0], {})
    assert hints and {p: heard(p, in_locale).intent for p in hints} == hints


# What people say, by situation, and what it must reach. One line per way of speaking.
SAID: list[tuple[str, str, dict[str, str | None]]] = [
    # starting, often in one breath
    ("ask cramp coach to help with my calf", "StartRoutineIntent", {"muscle": "calf"}),
    ("Alexa, tell cramp coach my hamstring just cramped up", "StartRoutineIntent",
     {"muscle": "hamstring"}),
    ("I've got a cramp in my left calf", "StartRoutineIntent", {"muscle": "calf"}),
    ("my calf is cramping", "StartRoutineIntent", {"muscle": "calf"}),
    ("how do I get rid of a cramp", "StartRoutineIntent", {}),
    ("okay let's start", "StartRoutineIntent", {}),
    # describing the step done instead of "next"
    ("I'm sitting down", "AMAZON.NextIntent", {}),
    ("okay I'm on the floor", "AMAZON.NextIntent", {}),
    ("um, I've stopped", "AMAZON.NextIntent", {}),
    ("done stretching", "AMAZON.NextIntent", {}),
    ("alright that's done", "AMAZON.NextIntent", {}),
    # starting a timed step answers "shall I time it?" (and a yes with nothing asked is "next")
    ("I've got ice on it", "AMAZON.YesIntent", {}),
    ("okay", "AMAZON.YesIntent", {}),
    ("I took some ibuprofen", "AMAZON.NextIntent", {}),
    ("next please", "AMAZON.NextIntent", {}),
    ("she's sitting down", "AMAZON.NextIntent", {"person": "she"}),
    ("my son's on the floor", "AMAZON.NextIntent", {"person": "son"}),
    # graded answers to "is the pain getting worse?"
    ("a little worse", "HurtsMoreIntent", {}),
    ("yeah a bit", "HurtsMoreIntent", {}),
    ("it's getting worse", "HurtsMoreIntent", {}),
    ("about the same", "NotWorseIntent", {}),
    ("it's easing off", "NotWorseIntent", {}),
    ("a bit better", "NotWorseIntent", {}),
    ("I'm not sure", "UnsureIntent", {}),
    ("hard to say", "UnsureIntent", {}),
    ("nope", "AMAZON.NoIntent", {}),
    ("yes please", "AMAZON.YesIntent", {}),
    # is the cramping gone?
    ("it's gone", "CrampGoneIntent", {}),
    ("the cramp stopped", "CrampGoneIntent", {}),
    ("still cramping", "CrampStillIntent", {}),
    ("it's still there", "CrampStillIntent", {}),
    ("almost gone", "CrampStillIntent", {}),
    # emergencies ("help" alone stays help)
    ("call 911", "EmergencyIntent", {}),
    ("call an ambulance", "EmergencyIntent", {}),
    ("get me a doctor", "EmergencyIntent", {}),
    ("I need help", "EmergencyIntent", {}),
    ("help me I can't get up", "EmergencyIntent", {}),
    ("help", "AMAZON.HelpIntent", {}),
    # signs, first and third person
    ("I can't walk", "RedFlagIntent", {"symptom": "no_weight"}),
    ("I think I tore something", "RedFlagIntent", {"symptom": "tear"}),
    ("it hurts so much", "RedFlagIntent", {"symptom": "unbearable"}),
    ("the pain is unbearable", "RedFlagIntent", {"symptom": "unbearable"}),
    ("my dad fell", "RedFlagIntent", {"person": "father", "symptom": "fall"}),
    ("she can't put weight on her leg", "RedFlagIntent",
     {"person": "she", "symptom": "no_weight"}),
    ("he heard a pop", "RedFlagIntent", {"person": "he", "symptom": "pop"}),
    ("her calf is swollen", "RedFlagIntent",
     {"possessive": "her", "muscle": "calf", "symptom": "swelling"}),
    ("it's red and hot", "RedFlagIntent", {"symptom": "red_hot"}),
    ("the cramp won't go away", "RedFlagIntent", {"symptom": "wont_ease"}),
    ("I get cramps after every run", "RedFlagIntent", {"symptom": "every_run"}),
    ("my wife has a strange rash", "RedFlagIntent",
     {"person": "wife", "symptom": "a strange rash"}),
    # the caregiver
    ("I'm helping my wife", "HelperModeIntent", {"person": "wife"}),
    ("my wife has a cramp", "HelperModeIntent", {"person": "wife"}),
    ("my son has a cramp in his calf", "HelperModeIntent",
     {"person": "son", "possessive": "his", "muscle": "calf"}),
    ("it's for me", "ForMeIntent", {}),
    # the driver
    ("I'm driving and my leg cramped", "DrivingIntent", {"muscle": "leg"}),
    ("I can't pull over", "DrivingIntent", {}),
    ("I pulled over", "ParkedIntent", {}),
    ("okay I've parked", "ParkedIntent", {}),
    # timers, the checklist and the rest
    ("twenty minutes please", "SetTimerIntent", {"minutes": "20"}),
    ("set it for thirty", "SetTimerIntent", {"minutes": "30"}),
    ("how much time is left", "TimerLeftIntent", {}),
    ("read me the list", "ChecklistIntent", {}),
    ("slower please", "SlowerIntent", {}),
    ("speak up", "LouderIntent", {}),
    ("hold on", "AMAZON.PauseIntent", {}),
    ("let me get some ice", "AMAZON.PauseIntent", {}),
    ("skip this one", "SkipIntent", {}),
    ("I can't do that", "CantDoIntent", {}),
    ("I don't have any ice", "CantDoIntent", {}),
    ("what was that", "AMAZON.RepeatIntent", {}),
    ("what step am I on", "WhereAmIIntent", {}),
    ("go to step four", "GoToStepIntent", {"number": "4"}),
]


@pytest.mark.parametrize(("said", "intent", "slots"), SAID, ids=[s for s, _, _ in SAID])
def test_what_people_say_reaches_the_intent(said: str, intent: str,
                                            slots: dict[str, str | None]) -> None:
    """Each way of speaking in the situations the skill is for reaches the right intent, its
    slots resolved to their ids (an unknown sign stays as heard)."""
    understood = heard(said)
    assert (understood.intent, resolved(understood)) == (intent, slots)


@pytest.mark.parametrize(("in_locale", "said", "intent"), [
    ("en-GB", "I've got cramp", "StartRoutineIntent"),
    ("en-GB", "ring nine nine nine", "EmergencyIntent"),
    ("en-GB", "my mum has a cramp", "HelperModeIntent"),
    ("en-GB", "I've parked up", "ParkedIntent"),
    ("en-AU", "call triple zero", "EmergencyIntent"),
    ("en-AU", "my mate has a cramp", "HelperModeIntent"),
    ("en-IN", "call one one two", "EmergencyIntent"),
    ("en-IN", "I am having a cramp", "StartRoutineIntent"),
    ("en-CA", "call 911", "EmergencyIntent"),
])
def test_local_phrasing_is_heard_in_its_locale(in_locale: str, said: str, intent: str) -> None:
    """Each English locale hears its own way of saying things, on top of en-US's."""
    assert heard(said, in_locale).intent == intent


def test_the_sign_ids_are_the_routines() -> None:
    """The RED_FLAG slot resolves to exactly the signs the routine knows."""
    signs = json.loads((PROJECT_ROOT / "skill" / "content" / "routine.json").read_text())["signs"]
    for locale in LOCALES:
        assert {v["id"] for v in type_values(load(locale), "RED_FLAG")} == set(signs)


@pytest.mark.parametrize("in_locale", LOCALES)
def test_every_sign_said_plainly_is_its_own_red_flag(in_locale: str) -> None:
    """Each sign's value is a whole sentence ("I fell", "my leg is swollen") that resolves to it."""
    for value in type_values(load(in_locale), "RED_FLAG"):
        understood = heard(value["name"]["value"], in_locale)
        assert (understood.intent, understood.slots["symptom"].resolved_id) == (
            "RedFlagIntent", value["id"]), value["name"]["value"]


@pytest.mark.parametrize("in_locale", MAIN_LOCALES)
def test_every_sign_word_can_be_said(in_locale: str) -> None:
    """Each synonym of a sign resolves to it in at least one RedFlagIntent sample: no value the
    samples can never carry."""
    model = load(in_locale)
    fill = {f"{{{slot}}}": type_values(model, kind)[0]["name"]["value"]
            for slot, kind in (("person", "PERSON"), ("possessive", "POSSESSIVE"),
                               ("muscle", "MUSCLE"))}
    carriers = [s for s in intent_of(model, "RedFlagIntent")["samples"] if "{symptom}" in s]

    def says(carrier: str, synonym: str, sign: str) -> bool:
        text = carrier.replace("{symptom}", synonym)
        for slot, words in fill.items():
            text = text.replace(slot, words)
        understood = heard(text, in_locale)
        return (understood.intent == "RedFlagIntent"
                and understood.slots["symptom"].resolved_id == sign)

    unheard = [synonym for value in type_values(model, "RED_FLAG")
               for synonym in value["name"].get("synonyms", [])
               if not any(says(c, synonym, value["id"]) for c in carriers)]
    assert not unheard


# Intents where people vary most: each needs dozens of ways of saying it.
VARIED = ["StartRoutineIntent", "AMAZON.NextIntent", "AMAZON.YesIntent", "AMAZON.NoIntent",
          "NotWorseIntent", "HurtsMoreIntent", "RedFlagIntent", "EmergencyIntent",
          "HelperModeIntent", "DrivingIntent", "ParkedIntent", "ChecklistIntent", "CantDoIntent",
          "AMAZON.PauseIntent", "CrampGoneIntent", "CrampStillIntent", "UnsureIntent",
          "SkipIntent", "AMAZON.RepeatIntent", "SlowerIntent", "LouderIntent"]


@pytest.mark.parametrize("in_locale", MAIN_LOCALES)
def test_intents_where_people_vary_have_dozens_of_samples(in_locale: str) -> None:
    """At least two dozen samples where people say the same thing in many ways, in each
    language's main model."""
    few = {name: len(intent_of(load(in_locale), name)["samples"]) for name in VARIED}
    assert not {name: n for name, n in few.items() if n < 24}


# --- the publishing checks on the model ------------------------------------------------------


def broken(edit: Callable[[dict[str, Any]], None]) -> list[str]:
    model = copy.deepcopy(load("en-US"))
    edit(model)
    return check_interaction_model(model, "en-US")


def test_the_models_pass_the_model_checks() -> None:
    """Every committed model passes, including the checks below."""
    for locale in LOCALES:
        assert check_interaction_model(load(locale), locale) == []


def test_a_sample_that_is_only_a_custom_slot_is_refused() -> None:
    """"{symptom}" alone would make Alexa send RedFlagIntent for almost anything said."""
    problems = broken(lambda m: intent_of(m, "RedFlagIntent")["samples"].append(" {symptom} "))
    assert any("is only a slot of the custom type RED_FLAG" in p for p in problems)


def test_a_sample_that_is_only_a_built_in_slot_is_allowed() -> None:
    """"{minutes}" answers "fifteen or twenty?": a number slot hears only numbers."""
    assert "{minutes}" in intent_of(load("en-US"), "SetTimerIntent")["samples"]


@pytest.mark.parametrize(("intent", "sample", "expect"), [
    ("HurtsMoreIntent", "I am done", "is in both AMAZON.NextIntent and HurtsMoreIntent"),
    ("HurtsMoreIntent", "Um, I'M DONE", "is in both AMAZON.NextIntent and HurtsMoreIntent"),
    ("CantDoIntent", "I can't walk", "is heard by more than one intent"),
    ("StartRoutineIntent", "{person} has a cramp", "is in both"),
    ("AMAZON.PauseIntent", "one minute", "is also heard by SetTimerIntent"),
])
def test_the_same_words_in_two_intents_are_refused(intent: str, sample: str, expect: str) -> None:
    """Samples that one utterance matches in two intents are refused, after what Alexa makes
    alike (case, contractions, hesitations) and through slot values."""
    def edit(model: dict[str, Any]) -> None:
        target = intent_of(model, intent)
        target["samples"].append(sample)
        if "{person}" in sample:
            target.setdefault("slots", []).append({"name": "person", "type": "PERSON"})

    assert any(expect in p for p in broken(edit))


# --- through the skill -------------------------------------------------------------------------


def say(alexa: Alexa, words: str) -> Reply:
    """What the user says, understood by en-US's model, sent to the skill as Alexa would."""
    understood = heard(words)
    if understood.kind == "launch":
        return alexa.launch()
    assert understood.intent not in (None, FALLBACK), words
    if understood.one_shot and alexa.in_session:
        alexa.end_session("USER_INITIATED")
    return alexa.intent(understood.intent, understood.slots)


def test_an_unknown_sign_reaches_the_skill_as_a_question(alexa: Alexa) -> None:
    """"My husband has a strange rash": the sign is unresolved, so the skill asks."""
    say(alexa, "open cramp coach")
    reply = say(alexa, "my husband has a strange rash")
    assert reply.keys[-1] == "safety/sign_check"
    assert reply.state["pending"] == "sign_check"


def test_a_sign_said_by_a_helper_is_a_red_flag(alexa: Alexa) -> None:
    """"My dad can't walk" is the no-weight sign: the advice, and never walk him anywhere."""
    say(alexa, "open cramp coach")
    reply = say(alexa, "my dad can't walk")
    assert "safety/red_flag" in reply.keys
    assert reply.state["cannot_walk"] and reply.state["injured"]


def test_call_911_gets_the_emergency_answer_at_once(alexa: Alexa) -> None:
    """"Call 911" mid-routine: the number and that the skill can't call; the session ends."""
    say(alexa, "open cramp coach")
    reply = say(alexa, "um call 911")
    assert "safety/emergency" in reply.keys
    assert reply.ends_session


def test_a_caregiver_starts_in_one_breath(alexa: Alexa) -> None:
    """"Tell cramp coach my wife has a cramp" opens the routine phrased for a helper."""
    reply = say(alexa, "Alexa, tell cramp coach my wife has a cramp")
    assert reply.state["helping"]


def test_describing_the_step_moves_on(alexa: Alexa) -> None:
    """"Okay I'm on the floor" at the first step is "next"."""
    first = say(alexa, "ask cramp coach to help with my calf")
    reply = say(alexa, "okay I'm on the floor")
    assert reply.state["step"] == first.state["step"] + 1


def test_a_graded_answer_to_the_pain_question_is_an_answer(alexa: Alexa) -> None:
    """"A little worse" to "is the pain getting worse?" is a yes: no massage."""
    say(alexa, "open cramp coach")
    reply = say(alexa, "I'm sitting down")
    while reply.state["pending"] != "pain_gate":
        reply = say(alexa, "next")
    reply = say(alexa, "a little worse")
    assert "gate/yes" in reply.keys and reply.state["pain_worse"]


def test_models_dir_is_the_projects() -> None:
    """The tests read the committed models (a guard for the module-level paths above)."""
    assert set(LOCALES) >= {"en-US", "en-GB", "en-CA", "en-AU", "en-IN"}
    assert all(isinstance(path, Path) and path.is_file() for path in MODELS.values())


@pytest.mark.parametrize("words", ["he's sitting on the bench now", "it's throbbing",
                                   "I found my keys", "there's a dog barking"])
def test_a_bare_carrier_does_not_make_any_sentence_a_warning_sign(words: str) -> None:
    """"I {symptom}" or "it's {symptom}" frames nearly anything: only words that sound like a
    sign, or a sentence about someone or a body part, reach the skill as an unclear sign."""
    assert heard(words).intent != "RedFlagIntent", words


@pytest.mark.parametrize("words", ["I have a sharp stabbing pain", "my leg went numb",
                                   "my husband has a strange rash"])
def test_a_sign_the_model_does_not_list_still_reaches_the_skill_unresolved(words: str) -> None:
    understood = heard(words)
    assert understood.intent == "RedFlagIntent", words
    assert understood.slots["symptom"].resolved_id is None
