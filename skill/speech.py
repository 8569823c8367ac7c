"""Every word the skill says comes from here: jinja2 templates, per locale, XML-escaped.

Templates live in `skill/templates/<locale or language>/<key>.ssml` (speech) or `.txt` (card
text). A locale falls back to its language (en-GB -> en), then to English. A variant (the
caregiver's phrasing, the car's) is a sibling file `<key>@<variant>.ssml`, tried first, in
the order the variants are given.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    ModuleLoader,
    StrictUndefined,
    select_autoescape,
)
from markupsafe import Markup

from skill.routine import Line, Routine, State

TEMPLATES = Path(__file__).parent / "templates"
# The templates compiled to Python ahead of time, in the Lambda zip only (`cramp-coach package`
# writes them): compiling them on a cold start cost more than the rest of the first answer.
COMPILED = Path(__file__).parent / "templates_compiled"
DEFAULT_LOCALE = "en-US"


def template_dirs(locale: str) -> list[Path]:
    """The folders searched for a locale, most specific first."""
    language = locale.split("-")[0]
    names = [locale, language, DEFAULT_LOCALE, DEFAULT_LOCALE.split("-")[0]]
    unique = dict.fromkeys(n for n in names if n)
    return [TEMPLATES / n for n in unique if (TEMPLATES / n).is_dir()]


@cache
def environment(locale: str) -> Environment:
    """One environment per locale, built on first use and kept (templates cached)."""
    return _environment(ChoiceLoader([_loader(d) for d in template_dirs(locale)]))


def _loader(folder: Path) -> BaseLoader:
    compiled = COMPILED / folder.name
    return ModuleLoader(compiled) if compiled.is_dir() else FileSystemLoader(folder)


def compile_templates(target: Path) -> None:
    """Compile every template folder to Python modules under target/<folder>/."""
    for folder in sorted(p for p in TEMPLATES.iterdir() if p.is_dir()):
        _environment(FileSystemLoader(folder)).compile_templates(
            target / folder.name, zip=None, ignore_errors=False)


def _environment(loader: BaseLoader) -> Environment:
    """The one set of settings every template is compiled and rendered with."""
    return Environment(
        loader=loader,
        # Speech is SSML: every value is escaped, so a slot value with & or < cannot break it.
        autoescape=select_autoescape(enabled_extensions=("ssml",), default_for_string=True),
        undefined=StrictUndefined,
        finalize=_xml_chars,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


# Characters XML 1.0 forbids (control codes but tab, newline, return): escaping can't save them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_chars(value: Any) -> Any:
    """Every value a template prints: strings lose the characters SSML cannot carry.

    Markup (a macro's output) is left alone: its values were cleaned when the macro ran."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _NOT_XML.sub("", value)
    return value


_TAG = re.compile(r"<[^>]+>")


_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])")


def to_text(ssml: str) -> str:
    """What a listener hears, as plain text: tags dropped, entities decoded."""
    text = _TAG.sub(" ", ssml)
    if "&" in text:  # html.unescape changes nothing else, and its entity table costs 1 ms to load
        import html

        text = html.unescape(text)
    text = " ".join(text.split())
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)


# Rendered text, kept for the life of the process, by environment, template names and every
# value the template sees. A template is a pure function of those values, and a routine has
# few distinct ones: a warm Lambda or web worker says the same welcome to every returning user
# and the same step to everyone on it, and rendering (a new jinja2 context, the macros module
# run again for each template that imports it) was the largest part of a warm turn's CPU.
# Bounded, for values that come from what users say (a step number heard, say).
RENDER_CACHE_SIZE = 4096
# The value types a cache key may hold: plain immutable scalars, compared with their type so
# that True and 1, or 1 and 1.0, which are equal as keys, never share a rendering.
_KEY_TYPES = frozenset({str, int, float, bool, type(None)})


def _values_key(values: Mapping[str, Any]) -> tuple[tuple[str, type, Any], ...] | None:
    """Values as (part of) a cache key, or None when one is not a plain scalar (a dict, a
    Markup, an object): a rendering that sees one is made every time, as before the cache."""
    if any(type(v) not in _KEY_TYPES for v in values.values()):
        return None
    return tuple(sorted((k, type(v), v) for k, v in values.items()))


Key = tuple[tuple[str, type, Any], ...]


@lru_cache(maxsize=RENDER_CACHE_SIZE)
def _render_cached(env: Environment, names: tuple[str, ...], voice: Key, plain: bool,
                   args: Key) -> str:
    # The context exactly as Voice builds it: the voice's values, plain, then the arguments.
    context = {k: v for k, _type, v in voice}
    context["plain"] = plain
    context.update((k, v) for k, _type, v in args)
    return _render_uncached(env, names, context)


def _render_uncached(env: Environment, names: tuple[str, ...], context: dict[str, Any]) -> str:
    return env.select_template(list(names)).render(context)


class Voice:
    """Renders template keys for one request: its locale, phrasing variant and the state."""

    def __init__(
        self,
        locale: str,
        state: State,
        routine: Routine,
        *,
        variants: tuple[str, ...] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.env = environment(locale)
        self.locale = locale
        self.variants = variants
        self.driving = "car" in variants
        self.slow, self.loud = state.slow, state.loud
        self._rendered: dict[Hashable, str] = {}
        self._key: Key | None | Literal[False] = False  # False: not worked out yet
        step = routine.step(state.step).id if 1 <= state.step <= routine.total else None
        country = locale.split("-")[-1].upper() if "-" in locale else ""
        self.context: dict[str, Any] = {
            "n": state.step,
            "total": routine.total,
            "step": step,
            "finished": state.finished,
            "pending": state.pending.value if state.pending else None,
            "locale": locale,
            "emergency_number": routine.emergency_numbers.get(country),
            "plain": False,  # macros speak SSML; cards and screens get plain text
            **(extra or {}),
        }

    def _render(self, key: str, ext: str, args: Mapping[str, Any]) -> str:
        # A step's words go to the speech, the card and the screen: render them once.
        try:
            memo_key: Hashable = (key, ext, tuple(sorted(args.items())))
            hash(memo_key)
        except TypeError:  # an argument that cannot be a key (a dict): render every time
            memo_key = None
        if memo_key is not None and memo_key in self._rendered:
            return self._rendered[memo_key]
        names = (*(f"{key}@{v}.{ext}" for v in self.variants), f"{key}.{ext}")
        if self._key is False:  # the voice's own values, as a key once (they never change)
            self._key = _values_key(self.context)
        args_key = _values_key(args) if self._key is not None else None
        if args_key is None or self._key is None:
            text = _render_uncached(self.env, names,
                                    {**self.context, "plain": ext == "txt", **args})
        else:
            text = _render_cached(self.env, names, self._key, ext == "txt", args_key)
        if memo_key is not None:
            self._rendered[memo_key] = text
        return text

    def ssml(self, *lines: Line) -> str:
        """The SSML for lines spoken in order, whitespace folded (no <speak> wrapper)."""
        rendered = (self._render(line.key, "ssml", line.args) for line in lines)
        return " ".join(" ".join(text.split()) for text in rendered)

    def text(self, key: str, **args: Any) -> str:
        """A plain-text template (cards, screens, timer labels), line breaks kept."""
        return self._render(key, "txt", args).strip()

    def styled(self, ssml: str) -> str:
        """The session's voice settings ("slower please", "speak up") around the speech."""
        if not (self.slow or self.loud):
            return ssml
        rate = ' rate="slow"' if self.slow else ""
        volume = ' volume="x-loud"' if self.loud else ""
        return f"<prosody{rate}{volume}>{ssml}</prosody>"
