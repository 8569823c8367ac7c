"""What a screen shows: APL RenderDocument directives for a step and for the checklist.

The documents are `skill/apl/*.json`, read once from the package; every text they show comes
from the caller (rendered from templates), so this module holds layout choices and no words.
APL goes only to devices that declare `Alexa.Presentation.APL`: check `supports_apl` first.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import RequestEnvelope

if TYPE_CHECKING:  # the APL model classes cost ~15 ms to import: only screens need them
    from ask_sdk_model.interfaces.alexa.presentation.apl import RenderDocumentDirective

# The documents sit beside this module, in the package (the Lambda zip keeps them unzipped).
# A path, not importlib.resources: that module and the zipfile machinery it brings cost 2-3 ms
# of every cold start, for reading a file the package already knows the place of.
APL_DIR = Path(__file__).parent / "apl"

STEP_TOKEN = "cramp-coach-step"
CHECKLIST_TOKEN = "cramp-coach-checklist"
# The one data source the documents declare (mainTemplate.parameters).
DATASOURCE = "payload"

# What a touch asks for: a button's `action`, which its SendEvent carries as arguments[0] and
# skill/handlers/touch.py answers. Tokens on the wire, never shown.
NEXT = "next"
PREVIOUS = "previous"
REPEAT = "repeat"
# The step view's buttons, left to right: back, repeat, and next where the thumb ends up.
STEP_BUTTONS = (PREVIOUS, REPEAT, NEXT)


@dataclass(frozen=True)
class Button:
    """A touch button: the caller's words for it, and what pressing it asks the skill."""

    label: str
    action: str

    def to_payload(self) -> dict[str, str]:
        return {"label": self.label, "action": self.action}


def supports_apl(source: HandlerInput | RequestEnvelope) -> bool:
    """Whether the requesting device declares the APL interface (a screen that renders APL)."""
    envelope = source.request_envelope if isinstance(source, HandlerInput) else source
    context = getattr(envelope, "context", None)
    system = getattr(context, "system", None)
    device = getattr(system, "device", None)
    interfaces = getattr(device, "supported_interfaces", None)
    return getattr(interfaces, "alexa_presentation_apl", None) is not None


@cache
def _load(name: str) -> dict[str, Any]:
    """A document from the package, never from the working directory; parsed once."""
    document: dict[str, Any] = json.loads(
        (APL_DIR / name).read_text(encoding="utf-8")
    )
    return document


def document(name: str) -> dict[str, Any]:
    """A fresh copy of a document, so no directive can alter the cached original."""
    return copy.deepcopy(_load(name))


def step_directive(*, number: int, total: int, title: str, instruction: str,
                   timer: str | None, progress: str | None = None,
                   buttons: Sequence[Button] = ()) -> RenderDocumentDirective:
    """The step view: progress ("Step 3 of 8", a bar), title, instruction, a running timer,
    and touch buttons.

    `progress` is the caller's wording of "Step N of total" (skill/templates/*/screen/
    progress.txt); without it the screen shows the language-neutral "N / total".
    `timer` is the running timer as text ("12 minutes left"), or None to hide that line.
    `buttons` are shown left to right in the order given; none, no button row.
    """
    unknown = [b.action for b in buttons if b.action not in STEP_BUTTONS]
    if unknown:
        raise ValueError(f"no touch handler answers the action(s) {unknown}")
    payload = {
        "number": number,
        "total": total,
        # APL's `when` treats "" as false: the line is hidden rather than shown empty.
        "progress": progress or "",
        "title": title,
        "instruction": instruction,
        "timer": timer or "",
        "buttons": [b.to_payload() for b in buttons],
    }
    return _directive(STEP_TOKEN, "step.json", payload)


def checklist_directive(*, title: str, items: list[str],
                        disclaimer: str) -> RenderDocumentDirective:
    """The checklist view: a title, one row per item, and the disclaimer."""
    payload = {"title": title, "items": list(items), "disclaimer": disclaimer}
    return _directive(CHECKLIST_TOKEN, "checklist.json", payload)


def _directive(token: str, name: str, payload: dict[str, Any]) -> RenderDocumentDirective:
    from ask_sdk_model.interfaces.alexa.presentation.apl import RenderDocumentDirective

    return RenderDocumentDirective(
        token=token, document=document(name), datasources={DATASOURCE: payload}
    )
