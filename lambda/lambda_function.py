"""AWS Lambda entry point: the handler is `lambda_function.lambda_handler`."""

import os

from skill.app import build_skill, event_handler

lambda_handler = event_handler(build_skill(skill_id=os.environ.get("CRAMP_COACH_SKILL_ID")))
