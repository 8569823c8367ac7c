"""The usual ASK Python skill with memory: benchmarks/bench.py's peer for the DynamoDB figures.

An ask-sdk-core hello world that keeps a visit count per user in DynamoDB through the ASK SDK's
own adapter (ask_sdk_dynamodb), with the boto3 resource created at import as its documentation
and samples do. Every request reads the user's attributes and saves them: the same store work
Cramp Coach does on a launch. The table comes from DYNAMODB_TABLE; boto3 finds the region,
endpoint and credentials in the environment.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_dynamodb.adapter import DynamoDbAdapter

dynamodb = boto3.resource("dynamodb")
adapter = DynamoDbAdapter(table_name=os.environ["DYNAMODB_TABLE"], dynamodb_resource=dynamodb)
skill_builder = CustomSkillBuilder(persistence_adapter=adapter)


@skill_builder.request_handler(can_handle_func=lambda handler_input: True)
def hello(handler_input: Any) -> Any:
    """Count the visit, save it, and say hello."""
    attributes = handler_input.attributes_manager.persistent_attributes
    attributes["visits"] = attributes.get("visits", 0) + 1
    handler_input.attributes_manager.save_persistent_attributes()
    return (
        handler_input.response_builder.speak("Hello world.").set_should_end_session(True).response
    )


lambda_handler = skill_builder.lambda_handler()
