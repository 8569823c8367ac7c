"""A bare flask-ask-sdk "hello world" skill, the baseline for benchmarks/web_bench.py.

Serve it with ``gunicorn --pythonpath benchmarks hello_web:app``. Its built-in verifiers are off,
as they must be on this stack: the pinned ask-sdk-webservice-support 1.2.0 (see pyproject.toml)
checks only the retired SHA-1 ``Signature`` header and would fetch certificates from Amazon,
which the benchmark cannot reach. So this baseline measures flask-ask-sdk and a trivial skill
without request verification.
"""

from __future__ import annotations

from typing import Any

from ask_sdk_core.skill_builder import SkillBuilder
from ask_sdk_core.utils import is_request_type
from flask import Flask
from flask_ask_sdk.skill_adapter import (
    VERIFY_SIGNATURE_APP_CONFIG,
    VERIFY_TIMESTAMP_APP_CONFIG,
    SkillAdapter,
)

skill_builder = SkillBuilder()


@skill_builder.request_handler(can_handle_func=is_request_type("LaunchRequest"))
def launch(handler_input: Any) -> Any:
    """Say hello and end the session."""
    return (
        handler_input.response_builder.speak("Hello world.").set_should_end_session(True).response
    )


app = Flask(__name__)
app.config[VERIFY_SIGNATURE_APP_CONFIG] = False
app.config[VERIFY_TIMESTAMP_APP_CONFIG] = False
SkillAdapter(skill=skill_builder.create(), skill_id="hello-world", app=app).register(app, "/")
