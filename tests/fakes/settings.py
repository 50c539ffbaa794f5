"""Settings for tests, built from the values given and nothing else: no environment, no ``.env`` file."""

from __future__ import annotations

import os
from typing import Any

from config.settings import Settings

#: Prefix of consentguard's environment variables (pydantic-settings matches it case-insensitively).
ENV_PREFIX = "CONSENTGUARD_"


def consentguard_env_names() -> list[str]:
    """Names of the ``CONSENTGUARD_*`` variables in the environment now, whatever their case."""
    return [name for name in os.environ if name.upper().startswith(ENV_PREFIX)]


def make_settings(**values: Any) -> Settings:
    """``Settings`` of ``values`` and defaults only: the developer's environment and ``.env`` are ignored.

    ``_env_file=None`` skips any ``.env`` file, and ``CONSENTGUARD_*`` variables are set aside while the
    settings are built: the autouse fixture of tests/conftest.py removes them for each test, but session
    fixtures are built before it runs. Keyword names are the settings' own (``data_dir``, ``storage``...).
    """
    saved = {name: os.environ.pop(name) for name in consentguard_env_names()}
    try:
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]
    finally:
        os.environ.update(saved)
