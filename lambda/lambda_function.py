"""AWS Lambda entry point: the handler is `lambda_function.lambda_handler`.

The settings are read, and the skill built, once per Lambda instance, at import.
"""

from skill.app import build_skill, event_handler

lambda_handler = event_handler(build_skill())
