"""A bare ask-sdk-core "hello world" Lambda: the baseline benchmarks/bench.py compares with.

One handler answers every request with "Hello world." through the SDK's own Lambda entry
point (`SkillBuilder.lambda_handler`): request deserialization, dispatch, response building
and serialization, and nothing else (no store, no templates, no service calls).
"""

from __future__ import annotations

from typing import Any

from ask_sdk_core.skill_builder import SkillBuilder

skill_builder = SkillBuilder()


@skill_builder.request_handler(can_handle_func=lambda handler_input: True)
def hello(handler_input: Any) -> Any:
    """Say hello to any request and end the session."""
    return (
        handler_input.response_builder.speak("Hello world.").set_should_end_session(True).response
    )


lambda_handler = skill_builder.lambda_handler()
