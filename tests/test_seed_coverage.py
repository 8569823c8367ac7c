"""Every fact of DESIGN.md section 2 (from the seed article) is spoken in a full run."""

from __future__ import annotations

from tests.talk import MORE, NEXT, NO
from tooling.standins.alexa import Alexa, Reply

# Facts the issue names, which a plain run (next, next, ...) must speak.
PLAIN_RUN_FACTS = [
    "15 to 20 minutes", "bare skin", "every hour until the cramping is completely gone",
    "15 minutes", "ibuprofen", "naproxen", "see a doctor", "several days", "other muscle groups",
]

# Every fact of the table, spoken when the runner also asks "tell me more" at each step.
TABLE_FACTS = {
    "stop": ["Stop running", "rest and stretch safely", "walk home", "treadmill", "sit down"],
    "stretch": ["Straighten the cramping leg", "pull your toes up toward your knee",
                "calf cramps", "most common"],
    "massage": ["gentle pressure", "relax", "If the pain increases, stop the massage"],
    "cold": ["cold compress", "reduces blood flow", "bruising", "further damage",
             "15 to 20 minutes", "every hour until the cramping is completely gone",
             "Never put ice on bare skin", "damage the skin"],
    "heat": ["Once the main cramp has passed", "hot shower", "very warm bath", "15 minutes",
             "heating pad"],
    "hydrate": ["plenty of water", "before, during and after", "rehydration",
                "sweating a lot", "dehydration"],
    "medicine": ["anti-inflammatory", "non-steroidal", "ibuprofen", "naproxen",
                 "still sore", "over-the-counter medicine isn't enough, see a doctor",
                 "muscle injury", "professional treatment"],
    "rest": ["until all the pain is gone", "several days", "other muscle groups",
             "fully recovered"],
    "wrap-up": ["endurance training or plyometrics", "conditioning", "after every run",
                "diabetes or thyroid disease", "health professional"],
}


def full_run(alexa: Alexa, *, ask_more: bool) -> list[Reply]:
    replies = [alexa.launch()]
    while not replies[-1].ends_session:
        last = replies[-1]
        if "getting worse?" in last.speech:
            replies.append(alexa.intent(NO))
            continue
        if ask_more:
            replies.append(alexa.intent(MORE))
        replies.append(alexa.intent(NEXT))
    return replies


def test_plain_run_speaks_the_issue_facts(alexa: Alexa) -> None:
    """Next, next, next to the end speaks the durations, warnings, medicines and rest facts."""
    spoken = " ".join(r.speech for r in full_run(alexa, ask_more=False))
    missing = [fact for fact in PLAIN_RUN_FACTS if fact not in spoken]
    assert not missing


def test_run_with_detail_speaks_every_table_fact(alexa: Alexa) -> None:
    """With "tell me more" at each step, every fact of the routine table is spoken."""
    spoken = " ".join(r.speech for r in full_run(alexa, ask_more=True))
    missing = [f"{step}: {fact}" for step, facts in TABLE_FACTS.items()
               for fact in facts if fact not in spoken]
    assert not missing
