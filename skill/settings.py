"""Every setting the skill reads from its environment, read once, checked, in one place.

`Settings.from_env()` is called when an entry point builds the skill (the Lambda module's
import, the web app's factory); a value that cannot be right stops it there with a message
naming the variable, instead of surfacing as a failure on some later request. Nothing else in
`skill/` reads `os.environ`; boto3 reads its own AWS variables (region, credentials, endpoint).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ENV_SKILL_ID = "CRAMP_COACH_SKILL_ID"
ENV_DYNAMODB_TABLE = "CRAMP_COACH_DYNAMODB_TABLE"
ENV_DB = "CRAMP_COACH_DB"
ENV_VERIFY = "CRAMP_COACH_VERIFY"
ENV_TRUSTED_CA = "CRAMP_COACH_TRUSTED_CA"
ENV_CERT_FETCH_BASE = "CRAMP_COACH_CERT_FETCH_BASE"
# Read by the standard library and requests alike; the first one set wins.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
SKILL_ID_PREFIX = "amzn1.ask.skill."


class SettingsError(ValueError):
    """A variable holds a value the skill cannot run with; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Everything the environment configures, read and checked once (see from_env)."""

    skill_id: str | None = None  # requests for any other skill are refused
    dynamodb_table: str | None = None  # DynamoDB memory (Lambda); else SQLite at db_path
    db_path: Path | None = None  # the SQLite memory file
    aws_region: str | None = None  # AWS_REGION or AWS_DEFAULT_REGION, for DynamoDB
    verify: bool = True  # web service: check Alexa's signatures (off: the local console only)
    trusted_ca: Path | None = None  # web service: roots to check Alexa's chain against
    cert_fetch_base: str | None = None  # web service, tests only: certificates from loopback
    ca_bundle: str | None = None  # outbound HTTPS (the Timers API): a CA bundle
    # The AWS_* variables (region, endpoint, credentials, CA bundle), as boto3 would read them:
    # the DynamoDB client's, read when the store is made.
    aws: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(name, "").strip() or None

        skill_id = get(ENV_SKILL_ID)
        if skill_id is not None and not skill_id.startswith(SKILL_ID_PREFIX):
            raise SettingsError(f"{ENV_SKILL_ID} must look like {SKILL_ID_PREFIX}<id>, "
                                f"not {skill_id!r}")
        verify = (get(ENV_VERIFY) or "on").lower()
        if verify not in ("on", "off"):
            # A typo must not leave anyone guessing whether requests are verified.
            raise SettingsError(f"{ENV_VERIFY} must be 'on' or 'off', not {verify!r}")
        trusted_ca = Path(get(ENV_TRUSTED_CA) or "") if get(ENV_TRUSTED_CA) else None
        if trusted_ca is not None and not trusted_ca.is_file():
            raise SettingsError(f"{ENV_TRUSTED_CA} names no file: {trusted_ca}")
        return cls(
            skill_id=skill_id,
            dynamodb_table=get(ENV_DYNAMODB_TABLE),
            db_path=default_db_path(env),
            aws_region=get("AWS_REGION") or get("AWS_DEFAULT_REGION"),
            verify=verify == "on",
            trusted_ca=trusted_ca,
            cert_fetch_base=get(ENV_CERT_FETCH_BASE),
            ca_bundle=next((v for v in map(get, CA_BUNDLE_VARIABLES) if v), None),
            aws=aws_environ(env),
        )


def default_db_path(environ: Mapping[str, str]) -> Path:
    """The SQLite path: $CRAMP_COACH_DB, else (XDG data home)/cramp-coach/memory.sqlite3."""
    explicit = environ.get(ENV_DB, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    data_home = environ.get("XDG_DATA_HOME", "").strip()
    # The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
    if data_home and os.path.isabs(data_home):
        base = Path(data_home)
    else:
        home = environ.get("HOME") or os.path.expanduser("~")
        base = Path(home) / ".local" / "share"
    return base / "cramp-coach" / "memory.sqlite3"


def aws_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The AWS_* variables (region, endpoint, credentials, CA bundle) as boto3 reads them."""
    env = os.environ if environ is None else environ
    return {name: value for name, value in env.items() if name.startswith("AWS_")}
