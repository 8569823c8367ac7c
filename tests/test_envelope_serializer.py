"""skill.app's envelope serializer reads what the SDK's own reads, the same way (issue 14)."""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any

import pytest
from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope
from dateutil.parser import parse

from skill.app import EnvelopeSerializer, read_envelope

ENVELOPE: dict[str, Any] = {
    "version": "1.0",
    "session": {"new": True, "sessionId": "amzn1.echo-api.session.1",
                "application": {"applicationId": "amzn1.ask.skill.test"},
                "user": {"userId": "amzn1.ask.account.test"}},
    "context": {"System": {"application": {"applicationId": "amzn1.ask.skill.test"},
                           "user": {"userId": "amzn1.ask.account.test"},
                           "device": {"deviceId": "d", "supportedInterfaces": {}}}},
    "request": {"type": "LaunchRequest", "requestId": "amzn1.echo-api.request.1",
                "timestamp": "2026-12-02T01:02:03Z", "locale": "en-US"},
}

TIMESTAMPS = [
    "2026-12-02T01:02:03Z",  # Alexa's form: read directly
    "2024-02-29T23:59:59Z",
    "2026-12-02T01:02:03.456Z",  # every other form: dateutil, as in the SDK
    "2026-12-02T01:02:03+02:00",
    "2026-12-02T01:02:03",
    "2026-12-02",
]


@pytest.mark.parametrize("stamp", TIMESTAMPS)
def test_timestamps_read_as_dateutil_reads_them(stamp: str) -> None:
    """The same instant, offset, ISO form and type, whichever path read it (dateutil's zone
    object may be its local one where the machine's zone is UTC: equal all the same)."""
    ours = EnvelopeSerializer()._DefaultSerializer__deserialize_datetime(stamp, datetime)
    theirs = parse(stamp)
    assert type(ours) is datetime and ours == theirs
    assert ours.utcoffset() == theirs.utcoffset() and ours.isoformat() == theirs.isoformat()
    if ours.tzinfo is not None:
        assert ours.timestamp() == theirs.timestamp() and ours.tzinfo == theirs.tzinfo


@pytest.mark.parametrize("stamp", ["2026-02-30T01:02:03Z", "2026-12-02T25:02:03Z", "yesterday"])
def test_impossible_times_fail_as_the_sdk_fails(stamp: str) -> None:
    """No such day, no such hour, no date at all: the SDK's own SerializationException."""
    for serializer in (EnvelopeSerializer(), DefaultSerializer()):
        with pytest.raises(SerializationException):
            serializer._DefaultSerializer__deserialize_datetime(  # type: ignore[attr-defined]
                stamp, datetime)


def test_a_date_field_is_still_a_date() -> None:
    ours = EnvelopeSerializer()._DefaultSerializer__deserialize_datetime("2026-12-02", date)
    assert ours == date(2026, 12, 2) and type(ours) is date


def test_read_envelope_equals_the_sdk_deserialization() -> None:
    """The whole envelope, model by model, is what the SDK's serializer makes of it."""
    import json

    ours = read_envelope(copy.deepcopy(ENVELOPE))
    theirs = DefaultSerializer().deserialize(json.dumps(ENVELOPE), RequestEnvelope)
    assert ours == theirs
    assert ours.request is not None
    assert ours.request.timestamp == datetime.fromisoformat("2026-12-02T01:02:03+00:00")
    # Again, with the model classes now resolved from the serializer's own table.
    assert read_envelope(copy.deepcopy(ENVELOPE)) == theirs


@pytest.mark.parametrize("kind", ["speaker", "screen", "car"])
def test_responses_serialize_as_the_sdk_serializes_them(kind: str) -> None:
    """Every response of a whole routine (with its cards, APL views, permission hand-over and
    timer failures along the way) is the SDK serializer's JSON, key for key and in order."""
    import json

    from skill.app import build_skill
    from tests.full_run import walk
    from tooling.standins.alexa import Alexa, Device

    skill = build_skill(store=None)
    compared = 0

    def send(event: dict[str, Any]) -> dict[str, Any]:
        nonlocal compared
        response = skill.invoke(request_envelope=read_envelope(event), context=None)
        ours, theirs = EnvelopeSerializer().serialize(response), DefaultSerializer().serialize(
            response)
        assert json.dumps(ours) == json.dumps(theirs)
        compared += 1
        result: dict[str, Any] = ours
        return result

    walk(Alexa(send, device=Device.of_kind(kind)))
    assert compared >= 5


def test_other_values_serialize_as_the_sdk_serializes_them() -> None:
    """The cases a response rarely holds: tuples, dates, enums, decimals, plain dicts."""
    from decimal import Decimal

    from ask_sdk_model.ui import SimpleCard
    from ask_sdk_model.ui.play_behavior import PlayBehavior

    values = [None, True, 3, 2.5, b"x", "text", (1, "a"), [SimpleCard(title="t")],
              datetime(2026, 12, 2, 1, 2, 3), date(2026, 12, 2), PlayBehavior.ENQUEUE,
              Decimal("2"), Decimal("2.5"), {"card": SimpleCard(content="c"), "n": None}]
    for value in values:
        ours, theirs = EnvelopeSerializer().serialize(value), DefaultSerializer().serialize(value)
        assert ours == theirs and type(ours) is type(theirs)
