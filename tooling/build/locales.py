"""The English locales other than en-US, generated from en-US plus small per-locale overrides.

interaction_models/en-US.json is the one model anyone edits. Each other locale's model is en-US
with the locale's spelling map and the sample edits of tooling/build/locale_overrides.json, and
its skill.json entries (publishingInformation.locales, privacyAndCompliance.locales) are en-US's
with the same spelling, the local emergency number from skill/content/routine.json and the
locale's example phrases. The ASK CLI deploys real files, so the output is committed;
`python -m tooling.build.locales` (`make models`) rewrites it and `--check` lists what is out
of date.

Only the generated parts of skill.json are touched, and the file is rewritten only when they
change, so other edits to it (permissions, interfaces) are kept as they are. Other languages
(de-DE, es-MX...) are written by hand, model and skill.json entries alike, and left alone here
(docs/languages.md).
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooling.build.publishing import (
    MANIFEST_FILE,
    MODELS_DIR,
    PROJECT_ROOT,
    check_interaction_model,
)

SOURCE_LOCALE = "en-US"
OVERRIDES_FILE = Path("tooling") / "build" / "locale_overrides.json"
ROUTINE_FILE = Path("skill") / "content" / "routine.json"
COMMAND = "make models (python -m tooling.build.locales)"

# skill.json text fields a locale's spelling applies to (keywords and phrases are lists).
_TEXT_FIELDS = ("name", "summary", "description")
_LOCALE_KEYS = frozenset({"why", "spelling", "intents", "slot_values", "example_phrases"})
_INTENT_KEYS = frozenset({"add", "replace"})


class LocaleError(ValueError):
    """The overrides cannot be applied to en-US; the message says what to fix, one per line."""


@dataclass(frozen=True)
class LocaleOverride:
    """How one locale differs from en-US."""

    locale: str
    spelling: Mapping[str, str]  # US word -> local word, lower case
    add: Mapping[str, tuple[str, ...]]  # intent -> samples to append
    replace: Mapping[str, Mapping[str, str]]  # intent -> {en-US sample: local sample}
    synonyms: Mapping[str, Mapping[str, tuple[str, ...]]]  # slot type -> value id -> synonyms
    example_phrases: Mapping[str, str]  # en-US example phrase -> local one

    @property
    def country(self) -> str:
        return country_of(self.locale)


def country_of(locale: str) -> str:
    """The ISO country of a locale such as en-GB."""
    return locale.split("-")[-1].upper()


def _dump(data: Any) -> str:
    """The committed form of a generated JSON file."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _strings(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    problems.append(f"{where} must be a list of strings")
    return ()


def _string_map(value: Any, where: str, problems: list[str]) -> dict[str, str]:
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return dict(value)
    problems.append(f"{where} must map strings to strings")
    return {}


def parse_overrides(data: Any, where: str = str(OVERRIDES_FILE)) -> dict[str, LocaleOverride]:
    """{locale: override} in file order; raises LocaleError on anything malformed or unknown."""
    problems: list[str] = []
    raw = data if isinstance(data, dict) else {}
    spellings = raw.get("spellings", {})
    locales = raw.get("locales")
    if not isinstance(locales, dict) or not locales:
        raise LocaleError(f"{where}: 'locales' must be a non-empty object")
    result = {}
    for locale, entry in locales.items():
        at = f"{where}: locales.{locale}"
        if not re.fullmatch(r"[a-z]{2}-[A-Z]{2}", locale) or locale == SOURCE_LOCALE:
            problems.append(f"{at}: not a locale other than {SOURCE_LOCALE}")
        if not isinstance(entry, dict):
            problems.append(f"{at} must be an object")
            continue
        # A misspelt key would otherwise be ignored without a word.
        for key in sorted(set(entry) - _LOCALE_KEYS):
            problems.append(f"{at}: unknown key {key!r} (known: {', '.join(sorted(_LOCALE_KEYS))})")
        spelling: dict[str, str] = {}
        if "spelling" in entry:
            name = entry["spelling"]
            if not isinstance(name, str) or not isinstance(spellings.get(name), dict):
                problems.append(f"{at}.spelling: {name!r} is not one of the 'spellings'")
            else:
                spelling = {us.lower(): local for us, local in
                            _string_map(spellings[name], f"{where}: spellings.{name}",
                                        problems).items()}
        add: dict[str, tuple[str, ...]] = {}
        replace: dict[str, dict[str, str]] = {}
        for intent, edits in _dict_or_problem(entry.get("intents", {}), f"{at}.intents",
                                              problems).items():
            if not isinstance(edits, dict):
                problems.append(f"{at}.intents.{intent} must be an object")
                continue
            for key in sorted(set(edits) - _INTENT_KEYS):
                problems.append(f"{at}.intents.{intent}: unknown key {key!r} (add or replace)")
            add[intent] = _strings(edits.get("add", []), f"{at}.intents.{intent}.add", problems)
            replace[intent] = _string_map(edits.get("replace", {}),
                                          f"{at}.intents.{intent}.replace", problems)
        synonyms: dict[str, dict[str, tuple[str, ...]]] = {}
        for slot_type, values in _dict_or_problem(entry.get("slot_values", {}),
                                                  f"{at}.slot_values", problems).items():
            synonyms[slot_type] = {
                value_id: _strings(added, f"{at}.slot_values.{slot_type}.{value_id}", problems)
                for value_id, added in _dict_or_problem(
                    values, f"{at}.slot_values.{slot_type}", problems).items()
            }
        result[locale] = LocaleOverride(
            locale, spelling, add, replace, synonyms,
            _string_map(entry.get("example_phrases", {}), f"{at}.example_phrases", problems))
    if problems:
        raise LocaleError("\n".join(problems))
    return result


def _dict_or_problem(value: Any, where: str, problems: list[str]) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    problems.append(f"{where} must be an object")
    return {}


def load_overrides(root: Path = PROJECT_ROOT) -> dict[str, LocaleOverride]:
    """The project's overrides file, parsed."""
    path = root / OVERRIDES_FILE
    return parse_overrides(json.loads(path.read_text(encoding="utf-8")), str(OVERRIDES_FILE))


def all_locales(root: Path = PROJECT_ROOT) -> list[str]:
    """The English locales: en-US first, then every generated locale in the overrides file's
    order (other languages' models are not generated)."""
    return [SOURCE_LOCALE, *load_overrides(root)]


def emergency_numbers(root: Path = PROJECT_ROOT) -> dict[str, str]:
    """{ISO country: emergency number}, the same data the skill speaks from."""
    data = json.loads((root / ROUTINE_FILE).read_text(encoding="utf-8"))
    numbers: dict[str, str] = data["emergency_numbers"]
    return numbers


# --- spelling -------------------------------------------------------------------------------


def respeller(spelling: Mapping[str, str]) -> Callable[[str], str]:
    """A function that swaps whole words by the map, keeping a capital first letter."""
    if not spelling:
        return lambda text: text
    return _respeller(tuple(sorted(spelling.items())))


# One per spelling map, remembering what it spelt: each generation respells en-US's 7,000
# samples, nearly all of them the same as last time.
@functools.lru_cache(maxsize=16)
def _respeller(items: tuple[tuple[str, str], ...]) -> Callable[[str], str]:
    spelling = dict(items)
    words = sorted(spelling, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)

    def swap(match: re.Match[str]) -> str:
        found = match.group(0)
        local = spelling[found.lower()]
        if found.isupper() and len(found) > 1:
            return local.upper()
        return local[0].upper() + local[1:] if found[0].isupper() else local

    @functools.lru_cache(maxsize=65536)
    def spell(text: str) -> str:
        return pattern.sub(swap, text)

    return spell


# Remembered: each generation keys en-US's 7,000 samples again, nearly all the same as last time.
@functools.lru_cache(maxsize=65536)
def _key(sample: str) -> str:
    """Samples that differ only in case and spacing are one utterance to Alexa."""
    return " ".join(sample.lower().split())


def _unique(samples: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for sample in samples:
        key = _key(sample)
        if key not in seen:
            seen.add(key)
            kept.append(sample)
    return kept


# --- interaction models ---------------------------------------------------------------------


def generate_model(source: Mapping[str, Any], override: LocaleOverride) -> dict[str, Any]:
    """The locale's interaction model: en-US, edited by the override, respelled.

    Raises LocaleError when an override no longer fits en-US (an intent, sample or slot value
    it names is gone, or it adds what en-US already has) or makes a problem en-US doesn't have.
    """
    model = copy.deepcopy(dict(source))
    language = model["interactionModel"]["languageModel"]
    spell = respeller(override.spelling)
    at = f"{OVERRIDES_FILE}: locales.{override.locale}"
    problems: list[str] = []

    intents = {intent["name"]: intent for intent in language.get("intents", [])}
    for name in sorted((set(override.add) | set(override.replace)) - set(intents)):
        problems.append(f"{at}.intents names {name}, which en-US no longer has")
    for name, intent in intents.items():
        samples = list(intent.get("samples", []))
        for old, new in override.replace.get(name, {}).items():
            if old not in samples:
                problems.append(f"{at}.intents.{name}.replace: en-US has no sample {old!r}")
            else:
                samples[samples.index(old)] = new
        have = {_key(spell(s)) for s in samples}
        for added in override.add.get(name, ()):
            if _key(added) in have:
                problems.append(f"{at}.intents.{name}.add: en-US already has {added!r}; "
                                f"drop it from the overrides")
        samples = [spell(s) for s in samples] + list(override.add.get(name, ()))
        if "samples" in intent:
            intent["samples"] = _unique(samples)
        for slot in intent.get("slots", []):
            if "samples" in slot:
                slot["samples"] = _unique([spell(s) for s in slot["samples"]])

    types = {slot_type["name"]: slot_type for slot_type in language.get("types", [])}
    for type_name, added_by_id in override.synonyms.items():
        if type_name not in types:
            problems.append(f"{at}.slot_values names slot type {type_name}, which en-US "
                            f"no longer has")
            continue
        values = {value.get("id"): value for value in types[type_name].get("values", [])}
        for value_id, extra in added_by_id.items():
            if value_id not in values:
                problems.append(f"{at}.slot_values.{type_name}: en-US has no value id "
                                f"{value_id!r}")
                continue
            label = values[value_id]["name"]
            have = {_key(spell(t)) for t in [label["value"], *label.get("synonyms", [])]}
            for synonym in extra:
                if _key(synonym) in have:
                    problems.append(f"{at}.slot_values.{type_name}.{value_id}: en-US already "
                                    f"has {synonym!r}; drop it from the overrides")
            label["synonyms"] = [*label.get("synonyms", []), *extra]
    for slot_type in types.values():
        for value in slot_type.get("values", []):
            label = value["name"]
            label["value"] = spell(label["value"])
            if "synonyms" in label:
                label["synonyms"] = [s for s in _unique([spell(s) for s in label["synonyms"]])
                                     if _key(s) != _key(label["value"])]

    # Problems the overrides bring in; en-US's own are reported against en-US, not here.
    where = f"{MODELS_DIR}/{override.locale}.json"
    introduced = (set(check_interaction_model(model, where))
                  - set(check_interaction_model(source, where)))
    problems += [f"{problem} (after {at})" for problem in sorted(introduced)]
    if problems:
        raise LocaleError("\n".join(problems))
    return model


# --- skill.json -----------------------------------------------------------------------------


def _local_number(text: str, source_number: str, local_number: str) -> str:
    return re.sub(rf"(?<!\d){re.escape(source_number)}(?!\d)", local_number, text)


def generate_manifest(manifest: Mapping[str, Any], overrides: Mapping[str, LocaleOverride],
                      numbers: Mapping[str, str]) -> dict[str, Any]:
    """skill.json with every generated locale's entries written from en-US's; nothing else.

    Raises LocaleError if en-US's entry is missing, its description does not name en-US's
    emergency number (so the others cannot name theirs), or an example phrase to replace is gone.
    """
    result = copy.deepcopy(dict(manifest))
    body = result.get("manifest", {})
    publishing = body.get("publishingInformation", {})
    source = publishing.get("locales", {}).get(SOURCE_LOCALE)
    if not isinstance(source, dict):
        raise LocaleError(f"{MANIFEST_FILE}: publishingInformation.locales.{SOURCE_LOCALE} is "
                          f"missing; the other locales are made from it")
    source_number = numbers.get(country_of(SOURCE_LOCALE), "")
    if not source_number or not re.search(rf"(?<!\d){re.escape(source_number)}(?!\d)",
                                          str(source.get("description", ""))):
        raise LocaleError(f"{MANIFEST_FILE}: the {SOURCE_LOCALE} description must name its "
                          f"emergency number ({source_number or 'none in routine.json'}), so "
                          f"each locale's can name its own")
    problems = []
    privacy = body.get("privacyAndCompliance", {}).get("locales", {})
    countries = publishing.setdefault("distributionCountries", [])
    for locale, override in overrides.items():
        spell = respeller(override.spelling)
        number = numbers.get(override.country)
        if number is None:
            problems.append(f"{ROUTINE_FILE}: no emergency number for {override.country} "
                            f"({locale})")
            continue
        entry = copy.deepcopy(source)
        for field in _TEXT_FIELDS:
            if isinstance(entry.get(field), str):
                entry[field] = _local_number(spell(entry[field]), source_number, number)
        if isinstance(entry.get("keywords"), list):
            entry["keywords"] = _unique([spell(k) for k in entry["keywords"]])
        phrases = list(entry.get("examplePhrases", []))
        for old, new in override.example_phrases.items():
            if old not in phrases:
                problems.append(f"{OVERRIDES_FILE}: locales.{locale}.example_phrases: the "
                                f"{SOURCE_LOCALE} entry has no example phrase {old!r}")
            else:
                phrases[phrases.index(old)] = new
        entry["examplePhrases"] = [spell(p) for p in phrases]
        publishing["locales"][locale] = entry
        if SOURCE_LOCALE in privacy:
            privacy[locale] = copy.deepcopy(privacy[SOURCE_LOCALE])
        # Add this locale's country; countries someone added by hand stay.
        if override.country not in countries:
            countries.append(override.country)
    if country_of(SOURCE_LOCALE) not in countries:
        countries.insert(0, country_of(SOURCE_LOCALE))
    if problems:
        raise LocaleError("\n".join(problems))
    return result


# --- files ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """What the generator would write: model texts by path, and skill.json as parsed JSON."""

    models: dict[Path, str]
    manifest_path: Path
    manifest: dict[str, Any]


def generate(root: Path = PROJECT_ROOT) -> Generated:
    """Every generated file for the checkout at `root`, computed from what is on disk now."""
    overrides = load_overrides(root)
    source = json.loads((root / MODELS_DIR / f"{SOURCE_LOCALE}.json").read_text(encoding="utf-8"))
    problems: list[str] = []
    models = {}
    for locale, override in overrides.items():
        try:
            models[root / MODELS_DIR / f"{locale}.json"] = _dump(generate_model(source, override))
        except LocaleError as error:
            problems.append(str(error))
    manifest_path = root / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    try:
        manifest = generate_manifest(manifest, overrides, emergency_numbers(root))
    except LocaleError as error:
        problems.append(str(error))
    if problems:
        raise LocaleError("\n".join(problems))
    return Generated(models, manifest_path, manifest)


def stale_files(root: Path = PROJECT_ROOT) -> list[str]:
    """The generated files that differ from what the generator makes, relative to `root`."""
    generated = generate(root)
    stale = [str(path.relative_to(root)) for path, text in generated.models.items()
             if not path.is_file() or path.read_text(encoding="utf-8") != text]
    # skill.json is compared as data: its layout is whoever edited it last.
    current = json.loads(generated.manifest_path.read_text(encoding="utf-8"))
    if current != generated.manifest:
        stale.append(MANIFEST_FILE)
    return stale


def write(root: Path = PROJECT_ROOT) -> list[Path]:
    """Rewrite the generated files that are out of date; returns the ones written."""
    generated = generate(root)
    written = []
    for path, text in generated.models.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    # Re-read just before writing: someone may have edited skill.json since generate() read it.
    manifest = json.loads(generated.manifest_path.read_text(encoding="utf-8"))
    updated = generate_manifest(manifest, load_overrides(root), emergency_numbers(root))
    if updated != manifest:
        generated.manifest_path.write_text(_dump(updated), encoding="utf-8")
        written.append(generated.manifest_path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the generated locale files, or with --check list the out-of-date ones."""
    parser = argparse.ArgumentParser(prog="python -m tooling.build.locales", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a generated file is out of date")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.check:
            stale = stale_files(args.root)
            for name in stale:
                print(f"{name} is out of date with {MODELS_DIR}/{SOURCE_LOCALE}.json or "
                      f"{OVERRIDES_FILE}; run: {COMMAND}")
            return 1 if stale else 0
        written = write(args.root)
    except LocaleError as error:
        print(f"cannot generate the locales:\n{error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path.relative_to(args.root)}")
    if not written:
        print("the generated locale files are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
