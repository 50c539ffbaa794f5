"""docker-compose.yml cannot be started here (no Docker engine): check what it promises operators."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import _parser

ROOT = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def test_it_runs_the_bot_two_workers_postgresql_redis_the_registry_and_the_console() -> None:
    assert set(SERVICES) == {"bot", "worker", "postgres", "redis", "registry", "console"}
    assert SERVICES["worker"]["deploy"]["replicas"] == 2


@pytest.mark.parametrize("service", ["bot", "worker", "registry", "console"])
def test_each_consentguard_service_runs_a_command_the_cli_knows(service: str) -> None:
    command = SERVICES[service]["command"]
    args = _parser().parse_args(command)  # raises SystemExit on an unknown command or option
    assert args.command == command[0]


def test_the_bot_queues_its_scans_and_stores_on_postgresql() -> None:
    env = SERVICES["bot"]["environment"]
    assert env["CONSENTGUARD_QUEUE__URL"] == SERVICES["worker"]["environment"]["CONSENTGUARD_QUEUE__URL"]
    assert env["CONSENTGUARD_STORAGE__DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["CONSENTGUARD_HEALTH__PORT"]


def test_a_worker_holds_the_queue_key_and_nothing_that_opens_the_quarantine() -> None:
    worker = SERVICES["worker"]
    assert set(worker["environment"]) == {"CONSENTGUARD_QUEUE__URL", "CONSENTGUARD_QUEUE__KEY"}
    assert "volumes" not in worker  # no data directory: no quarantine key, no pseudonym key


def test_every_secret_it_reads_is_documented_in_the_example_env_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    wanted = set(re.findall(r"\$\{([A-Z_]+)", text))
    example = (ROOT / "deploy" / "compose.env.example").read_text()
    documented = set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))
    assert wanted <= documented
