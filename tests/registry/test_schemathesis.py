"""Property-based conformance of the API with its own OpenAPI document (schemathesis): it never answers 500.

Every operation is called with an admin key (unless a negative case drops the header on purpose), so that
requests get past authentication and exercise validation, storage and the scope checks. Half the generated
tokens are swapped for issued ones, so that granted, used and revoked consents are reached, not only the 422
of a random string. (``schemathesis.pytest.from_fixture`` does not run under pytest 9, hence a module-level
database.)
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from bot.registry.app import create_app
from bot.registry.commands import new_consent, new_key

_DIRECTORY = tempfile.TemporaryDirectory(prefix="consentguard-fuzz-")
_URL = f"sqlite:///{Path(_DIRECTORY.name) / 'fuzz.db'}"
_ADMIN = {"Authorization": f"Bearer {new_key(_URL, 'admin', 'fuzzer')}"}
# The consent-capture links are the bot's alone (an admin key gets 403 there).
_BOT = {"Authorization": f"Bearer {new_key(_URL, 'bot', None)}"}
_TOKENS = [
    new_consent(
        _URL,
        patient_ref="FUZZ",
        groups=["*"],
        clinicians=["telegram:*"],
        purposes=["advice"],
        days=1,
        max_images=max_images,
    )["token"]
    for max_images in (1, 5, None)
]

schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(_URL, lookups_per_minute=1_000_000, staff_lookups_per_minute=1_000_000)
)
CASES: Counter[str] = Counter()


@schema.hook
def map_path_parameters(_context: Any, path_parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    token = (path_parameters or {}).get("token")
    if isinstance(token, str) and len(token) % 2 == 0:
        return {**(path_parameters or {}), "token": _TOKENS[len(token) % len(_TOKENS)]}
    return path_parameters


@pytest.fixture(scope="module", autouse=True)
def _remove_database() -> Iterator[None]:
    yield
    _DIRECTORY.cleanup()


@schema.parametrize()
# Derandomized: CI runs the same 700-odd cases every time (a new failure then reproduces exactly).
@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
def test_api_conforms_to_its_schema(case: Any) -> None:
    CASES[case.operation.label] += 1
    # A token's check character cannot be written in JSON Schema: a schema-valid string is usually a typo
    # (422) by design, so the "valid data is accepted" check does not apply to the {token} routes.
    excluded = [positive_data_acceptance] if "{token}" in case.operation.path else []
    # A negative case may leave the Authorization header out on purpose (and expects 401): keep it out then;
    # otherwise replace the generated credential with a real admin key.
    key = _BOT if case.operation.path.startswith("/v1/capture-links") else _ADMIN
    headers = key if "Authorization" in (case.headers or {}) else None
    case.call_and_validate(headers=headers, excluded_checks=excluded)


def test_report_cases() -> None:
    """Not a check: prints how many cases each operation got (run with -s to see it)."""
    print(f"\nschemathesis cases: {sum(CASES.values())} {dict(CASES)}")
