"""`cramp-coach`: talk to the skill in a console, serve it over HTTP, or package it."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from skill.timers import CONTINUE_WITH_SKILL_NAME
from tooling.standins.alexa import Alexa, Device, Reply, Send
from tooling.standins.nlu import Understanding, Understood
from tooling.standins.timers_api import StandInTimer, TimersApiStandIn

CONSOLE_TOKEN = "cramp-coach-console"
MANIFEST = Path(__file__).resolve().parents[2] / "skill.json"


def skill_name(locale: str, manifest: Path = MANIFEST) -> str:
    """The skill's name in a locale, as Alexa says it in a timer's "continue with ...?"."""
    try:
        locales = json.loads(manifest.read_text(encoding="utf-8"))["manifest"][
            "publishingInformation"]["locales"]
        return str(locales.get(locale, locales.get("en-US"))["name"])
    except (OSError, ValueError, KeyError, TypeError):
        return "Cramp Coach"


def local_transport() -> Send:
    """The same skill the Lambda runs, called in process."""
    from skill.app import build_skill, event_handler

    handle = event_handler(build_skill())
    return lambda envelope: handle(envelope, None)


def http_transport(url: str) -> Send:
    """POST each request to a running endpoint (`cramp-coach serve --no-verify`)."""

    def send(envelope: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            url, data=json.dumps(envelope).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer

    return send


# --- how the console looks ---------------------------------------------------------------

# Piped output has a fixed width, so a transcript is the same on every machine and in CI.
PIPED_WIDTH = 100
MIN_WIDTH = 40  # narrower terminals still get whole words, just more lines

_RESET = "\033[0m"
_BOLD, _DIM = "\033[1m", "\033[2m"
_CYAN, _YELLOW, _MAGENTA, _GREEN = "\033[36m", "\033[33m", "\033[35m", "\033[32m"


@dataclass(frozen=True)
class Kind:
    """One kind of line the console shows: its label, and its styles on a terminal."""

    label: str
    label_style: str = ""
    text_style: str = ""


# Alexa's words come first on their line, bold; everything else is indented under them with a
# label of its own (a card, a screen, a reprompt, a timer going off), so a glance tells them
# apart even without colour.
ALEXA = Kind("Alexa: ", _BOLD + _CYAN, _BOLD)
ALEXA_ITSELF = Kind("Alexa: ", _BOLD + _CYAN)  # Alexa's own words, not the skill's
REPROMPT = Kind("  reprompt: ", _DIM, _DIM)
CARD = Kind("  card: ", _YELLOW)
SCREEN = Kind("  screen: ", _MAGENTA)
TIMER = Kind("  timer: ", _BOLD + _GREEN, _GREEN)
NOTE = Kind("  ", _DIM, _DIM)  # what happens around the words: a session opens or ends
YOU = Kind("you> ")


class Look:
    """How the console sets its lines out: wrapped at word boundaries to a width, each kind
    under its label with a hanging indent, coloured only for a person at a terminal."""

    def __init__(self, width: int = PIPED_WIDTH, colour: bool = False) -> None:
        self.width = max(MIN_WIDTH, width)
        self.colour = colour

    @classmethod
    def for_stream(cls, out: TextIO, environ: Mapping[str, str] | None = None) -> Look:
        """A terminal gets its own width and colour (unless NO_COLOR is set, no-color.org);
        anything else (a pipe, a file) gets plain text at the fixed width."""
        env = os.environ if environ is None else environ
        if not _is_terminal(out):
            return cls(PIPED_WIDTH, colour=False)
        width = shutil.get_terminal_size((PIPED_WIDTH, 24)).columns
        return cls(width, colour=not env.get("NO_COLOR"))

    def lines(self, kind: Kind, text: str) -> list[str]:
        """`text` under `kind`'s label, wrapped; later lines indented to the label's width."""
        indent = " " * len(kind.label)
        # No word is ever split: a word longer than the line (a URL) runs past the edge.
        wrapped = textwrap.wrap(text, width=self.width, initial_indent=kind.label,
                                subsequent_indent=indent, break_long_words=False,
                                break_on_hyphens=False) or [kind.label.rstrip()]
        first, *rest = wrapped
        label, words = first[:len(kind.label)], first[len(kind.label):]
        styled = [self._style(kind.label_style, label) + self._style(kind.text_style, words)]
        return styled + [indent + self._style(kind.text_style, line[len(indent):])
                         for line in rest]

    def block(self, kind: Kind, title: str, body: Sequence[str]) -> list[str]:
        """A title under the label, then each body line wrapped under the title."""
        indent = " " * len(kind.label)
        out = self.lines(kind, title)
        for paragraph in body:
            out += textwrap.wrap(paragraph, width=self.width, initial_indent=indent,
                                 subsequent_indent=indent, break_long_words=False,
                                 break_on_hyphens=False)
        return out

    def _style(self, style: str, text: str) -> str:
        return f"{style}{text}{_RESET}" if self.colour and style and text.strip() else text


def _is_terminal(out: TextIO) -> bool:
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Console:
    """A chat loop: each typed line becomes what Alexa would send, each reply is shown.

    Alexa's Timers API runs as a local stand-in, so timers really count down while the
    console waits and their announcements print when they go off. When the skill asks for
    the timers permission, the next line answers Alexa's own question (yes or no). A timer
    that brings the skill back (LAUNCH_TASK) asks, as Alexa would, whether to continue with
    the skill: the next line answers, and yes opens the skill with the timer's task.
    """

    def __init__(self, alexa: Alexa, understanding: Understanding, out: TextIO,
                 timers_api: TimersApiStandIn | None = None, look: Look | None = None,
                 name: str = "Cramp Coach") -> None:
        self.alexa = alexa
        self.understanding = understanding
        self.out = out
        self.timers_api = timers_api
        self.look = look or Look.for_stream(out)
        self.name = name
        self.silences = 0
        self.asking_permission = False
        self.confirming: dict[str, Any] | None = None  # a gone-off timer's task, asked about
        self._lock = threading.Lock()

    def hear(self, line: str) -> None:
        heard = self.understanding.understand(line)
        if self.asking_permission:
            self.asking_permission = False
            self.show(self._permission_answer(heard))
            return
        with self._lock:
            task, self.confirming = self.confirming, None
        if task is not None and self._continue_answer(heard, task):
            return
        if heard.kind == "silence":
            self._silence()
            return
        self.silences = 0
        reply = self._dispatch(heard)
        self.show(reply)

    def _permission_answer(self, heard: Understood) -> Reply:
        """Alexa's permission dialog, answered by typing: yes grants the stand-in's token."""
        answer = {"AMAZON.YesIntent": "ACCEPTED", "AMAZON.NoIntent": "DENIED"}.get(
            heard.intent or "", "NOT_ANSWERED")
        if answer == "ACCEPTED" and self.timers_api is not None:
            self.timers_api.grant(self.alexa.device.api_access_token)
        return self.alexa.permission_answer(answer)

    def announce(self, timer: StandInTimer, text: str) -> None:
        """A timer went off on the (stand-in) device: it speaks, or it asks whether to
        continue with the skill (the placeholder is the skill's name, as Alexa says it)."""
        if timer.task is not None:
            text = text.replace(CONTINUE_WITH_SKILL_NAME, self.name)
            with self._lock:
                self.confirming = timer.task
        self.print("", *self.look.lines(TIMER, f"{timer.label}: {text}"))

    def _continue_answer(self, heard: Understood, task: dict[str, Any]) -> bool:
        """The answer to a timer's "continue with Cramp Coach?": yes launches the skill with
        the timer's task (a new session); no ends it there. Anything else leaves the question
        unanswered and is heard as usual: False."""
        if heard.intent == "AMAZON.YesIntent":
            if self.alexa.in_session:
                self.alexa.end_session("USER_INITIATED")
            self.say(NOTE, f"(a new session: Alexa opens {self.name} with the timer's task)")
            self.silences = 0
            self.show(self.alexa.launch(task=task))
            return True
        if heard.intent == "AMAZON.NoIntent":
            self.say(NOTE, "(Alexa lets the timer go: nothing more happens)")
            return True
        return False

    def _dispatch(self, heard: Understood) -> Reply:
        if heard.kind == "launch":
            if self.alexa.in_session:
                self.alexa.end_session("USER_INITIATED")
            return self.alexa.launch()
        assert heard.intent is not None
        if heard.one_shot and self.alexa.in_session:
            self.alexa.end_session("USER_INITIATED")
        if not self.alexa.in_session:
            self.say(NOTE, "(a new session)")
        return self.alexa.intent(heard.intent, heard.slots)

    def _silence(self) -> None:
        """Saying nothing: Alexa plays the reprompt once, then closes the session."""
        last = self.alexa.last
        if not self.alexa.in_session or last is None:
            self.say(NOTE, "(no session is open: say 'open cramp coach')")
            return
        self.silences += 1
        if self.silences == 1 and last.reprompt:
            self.say(ALEXA, last.reprompt)
            return
        self.alexa.end_session("EXCEEDED_MAX_REPROMPTS")
        self.silences = 0
        self.say(NOTE, "(no answer: Alexa closed the session)")

    def show(self, reply: Reply) -> None:
        self.say(ALEXA, reply.speech)
        if reply.hands_over:
            self.asking_permission = True
            self.say(ALEXA_ITSELF, "(in its own words) Do you allow Cramp Coach to create "
                                   "timers? Say yes or no.")
            return
        if reply.reprompt:
            self.say(REPROMPT, reply.reprompt)
        for directive in reply.directives:
            if directive.get("type") == "Alexa.Presentation.APL.RenderDocument":
                self._show_screen(directive["datasources"]["payload"])
        card = reply.card
        if card and card.get("type") == "AskForPermissionsConsent":
            self.say(CARD, f"asks for permission: {', '.join(card.get('permissions', []))}")
        elif card:
            body = card.get("content") or card.get("text") or ""
            self.print(*self.look.block(CARD, str(card.get("title", "")),
                                        str(body).splitlines()))
        if reply.ends_session:
            self.say(NOTE, "(session ended)")

    def _show_screen(self, view: dict[str, Any]) -> None:
        """What an Echo Show would display, as text."""
        if "items" in view:
            self.print(*self.look.block(SCREEN, str(view["title"]),
                                        [f"- {item}" for item in view["items"]]))
            return
        timer = f" | {view['timer']}" if view.get("timer") else ""
        self.say(SCREEN, f"{view['progress']} | {view['title']} | {view['instruction']}{timer}")

    def say(self, kind: Kind, text: str) -> None:
        """One line of a kind, set out by the console's look."""
        self.print(*self.look.lines(kind, text))

    def print(self, *lines: str) -> None:
        with self._lock:  # timer announcements print from the stand-in's thread
            for line in lines:
                print(line, file=self.out)
            self.out.flush()


_WAIT = re.compile(r"^/wait\s+(\d+(?:\.\d+)?)$")


def chat(args: argparse.Namespace, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    # The skill's own logs (a timer refused, a store unreachable) only with --verbose.
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="  (log) %(name)s: %(message)s")
    send = http_transport(args.url) if args.url else local_transport()
    seconds_per_minute = 1.0 if args.fast else 60.0
    granted = {CONSOLE_TOKEN} if args.timers_allowed else set()
    with TimersApiStandIn(tokens=granted, locale=args.locale,
                          seconds_per_minute=seconds_per_minute,
                          launch_task=not args.no_launch_task) as api:
        device = Device.of_kind(args.device, api_endpoint=api.url,
                                api_access_token=CONSOLE_TOKEN)
        # The skill reads time from request timestamps: give it the stand-in's (sped-up) clock.
        alexa = Alexa(send, locale=args.locale, device=device,
                      clock=lambda: datetime.fromtimestamp(api.clock.now(), UTC))
        console = Console(alexa, Understanding.for_locale(args.locale), out, api,
                          name=skill_name(args.locale))
        api.on_fire = console.announce
        _talk(console, stdin, out, fast=args.fast)
        if console.alexa.in_session:
            console.alexa.end_session("USER_INITIATED")
    return 0


def _talk(console: Console, stdin: TextIO, out: TextIO, *, fast: bool) -> None:
    interactive = stdin.isatty()
    if interactive:
        console.say(Kind("", _DIM, _DIM),
                    "Cramp Coach console. Type what you would say to Alexa, e.g. 'open cramp "
                    "coach'. An empty line is silence; /wait N waits N seconds; Ctrl-D quits."
                    + (" Timers run a minute per second." if fast else ""))
    while True:
        if interactive:
            out.write("you> ")
            out.flush()
        line = stdin.readline()
        if not line:
            break
        if not interactive:
            console.say(YOU, line.strip())
        wait = _WAIT.match(line.strip())
        if wait:
            time.sleep(float(wait.group(1)))  # lets timers go off in scripted demos
        elif not line.lstrip().startswith("#"):
            console.hear(line)


# The top-level modules the `web` extra installs that skill.web imports.
WEB_EXTRA_MODULES = frozenset(
    {"flask", "flask_ask_sdk", "werkzeug", "ask_sdk_webservice_support", "cryptography"})


def serve(args: argparse.Namespace) -> int:
    try:
        from skill.web import serve as run_server  # lazy: the console needs no Flask
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] not in WEB_EXTRA_MODULES:
            raise
        print(f"cramp-coach serve needs the web extra ({error.name} is missing): "
              "pip install 'cramp-coach[web]'", file=sys.stderr)
        return 1
    from skill.settings import SettingsError

    try:
        # Unsigned requests can claim any skill anyway, so --no-verify needs no skill id.
        run_server(args.host, args.port, verify=not args.no_verify,
                   allow_any_skill=args.any_skill or args.no_verify)
    except SettingsError as error:
        print(f"cramp-coach serve: {error}", file=sys.stderr)
        return 2
    return 0


def package(args: argparse.Namespace) -> int:
    from tooling.build.packaging import PackagingError, build  # lazy: pulls in ask-smapi-model

    try:
        build(args.dist)
    except PackagingError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="cramp-coach", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    talk = commands.add_parser("chat", help="talk to the skill by typing")
    talk.add_argument("--locale", default="en-US")
    talk.add_argument("--url", help="talk to a running endpoint instead of the skill in process")
    talk.add_argument("--device", choices=("speaker", "screen", "car"), default="speaker",
                      help="what the requests say the device is (screen: APL; car: Automotive)")
    talk.add_argument("--fast", action="store_true",
                      help="timers count a minute per second, for demos")
    talk.add_argument("--verbose", action="store_true", help="show the skill's logs")
    talk.add_argument("--timers-allowed", action="store_true",
                      help="start with the timers permission granted (else Alexa asks)")
    talk.add_argument("--no-launch-task", action="store_true",
                      help="a device without timers that bring the skill back (LAUNCH_TASK): "
                           "its timers only announce")
    talk.set_defaults(run=chat)
    web = commands.add_parser("serve", help="serve the skill to Alexa over HTTP (flask-ask-sdk)")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8080)
    web.add_argument("--no-verify", action="store_true",
                     help="accept unsigned requests: for the local console only, never for Alexa")
    web.add_argument("--any-skill", action="store_true",
                     help="with verification on, accept any skill's signed requests when "
                          "CRAMP_COACH_SKILL_ID is not set (else the server refuses to start)")
    web.set_defaults(run=serve)
    build = commands.add_parser("package", help="build dist/skill-package and dist/lambda.zip")
    build.add_argument("--dist", default="dist")
    build.set_defaults(run=package)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
