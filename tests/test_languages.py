"""Each language is whole: its own file for every English template, no strays, no English left.

skill/speech.py falls back from a locale to its language and then to English, so a template a
language lacks would be spoken in English without an error anywhere. Here: every language with
a model has skill/templates/<language>/ mirroring every file of skill/templates/en/ (the same
relative paths, @car/@helper variants and macros), with no file English lacks; a country's
override folder (skill/templates/es-ES/) holds only files its language has; each template
uses no argument the English one is not given; the macros state the register; and nothing a
non-English locale says or shows is English.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import meta

from skill.speech import TEMPLATES, environment
from tests.conftest import LANGUAGES, LOCALES, TEMPLATE_LOCALES
from tests.wording_checks import language_of, renders, templates

ENGLISH = TEMPLATES / "en"
OTHER_LANGUAGES = [language for language in LANGUAGES if language != "en"]
# Words of English that are no word of German, Spanish, French, Italian or Portuguese: one of
# them in a non-English render is English that leaked (a copied sentence, an untranslated
# macro). The skill's name, "Cramp Coach", has none of them; words that are also French,
# Spanish, Portuguese or German ("pain", "minutes", "doctor", "for", "more", "will", "leg")
# are left out.
ENGLISH_WORDS = frozenset({
    "the", "and", "your", "you", "you're", "with", "this", "that", "it's", "don't", "can't",
    "what", "when", "please", "step", "until", "water", "next", "call", "ice", "help",
    "they", "them", "their", "if", "of", "is", "are", "have", "there", "here",
    "again", "cold", "heat", "shall", "we", "back",
})
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_every_language_with_a_model_has_its_templates() -> None:
    """A model without templates would be answered in English."""
    missing = [language for language in OTHER_LANGUAGES if not (TEMPLATES / language).is_dir()]
    assert not missing, f"no skill/templates/<language>/ for {missing}"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_the_language_has_every_template_of_english_and_no_other(language: str) -> None:
    """The same relative paths as skill/templates/en/: every key, variant and macro file."""
    english, own = files(ENGLISH), files(TEMPLATES / language)
    assert not sorted(english - own), f"{language} lacks (English would be spoken)"
    assert not sorted(own - english), f"{language} has files English lacks (never spoken)"


@pytest.mark.parametrize("loc", [loc for loc in LOCALES if (TEMPLATES / loc).is_dir()])
def test_a_countrys_overrides_are_templates_of_its_language(loc: str) -> None:
    """skill/templates/<locale>/ only replaces files its language has."""
    extra = files(TEMPLATES / loc) - files(TEMPLATES / language_of(loc))
    assert not sorted(extra)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_each_template_takes_the_arguments_english_takes(language: str) -> None:
    """No template uses a value English is not given (it would fail when spoken), and the
    macros' top comment states the register (informal or formal address) chosen."""
    env = environment("en-US")
    problems = []
    for name in sorted(files(TEMPLATES / language)):
        own = (TEMPLATES / language / name).read_text(encoding="utf-8")
        used = meta.find_undeclared_variables(env.parse(own))
        allowed = meta.find_undeclared_variables(
            env.parse((ENGLISH / name).read_text(encoding="utf-8"))) if (
            ENGLISH / name).is_file() else set()
        # The context every template is given (skill/speech.py Voice.context).
        allowed |= {"n", "total", "step", "finished", "pending", "locale",
                    "emergency_number", "plain"}
        if used - allowed:
            problems.append(f"{name}: {sorted(used - allowed)}")
    assert not problems, "\n".join(problems)
    macros = (TEMPLATES / language / "macros.ssml").read_text(encoding="utf-8")
    top = re.match(r"\s*\{#(.*?)#\}", macros, re.DOTALL)
    assert top and "register" in top[1].lower(), "macros.ssml's top comment names the register"


@pytest.mark.parametrize("loc", [loc for loc in TEMPLATE_LOCALES if not loc.startswith("en-")])
def test_nothing_said_or_shown_is_english(loc: str) -> None:
    """Every template, in every state and with every argument set, in the language's words.
    (Values the routine passes through, such as what Alexa heard, are left out.)"""
    problems = []
    for template in templates(loc):
        for r in renders(loc, template):
            text = r.text
            heard = r.args.get("heard")
            if isinstance(heard, str):
                text = text.replace(heard[:40], " ")
            english = sorted({w for w in WORD.findall(text.lower()) if w in ENGLISH_WORDS})
            if english:
                problems.append(f"{r.where}: {english}: {r.text!r}")
    assert not problems, "\n".join(problems[:40])


def test_the_english_words_are_caught() -> None:
    """The check above finds English (so it can fail)."""
    said = " ".join(r.text for r in renders("en-US", templates("en-US")[0]))
    assert {w for w in WORD.findall(said.lower()) if w in ENGLISH_WORDS}
