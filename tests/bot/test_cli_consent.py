import json
import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import configure_logging, main


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CONSENTGUARD_DATA_DIR", str(tmp_path))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_issue_show_revoke_round_trip(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, out, _ = run(
        capsys,
        "consent", "new", "--patient-ref", "P-77", "--group", "telegram:-1001", "--clinician", "telegram:42",
        "--purpose", "advice", "--days", "30", "--max-images", "3", "--json",
    )  # fmt: skip
    assert code == 0
    token = json.loads(out)["token"]
    assert token.startswith("CG-")
    assert (data_dir / "consent-registry.db").exists()

    code, out, _ = run(capsys, "consent", "show", token, "--json")
    shown = json.loads(out)
    assert code == 0
    assert shown["status"] == "granted"
    assert shown["groups"] == ["telegram:-1001"]
    assert shown["max_images"] == 3

    assert run(capsys, "consent", "revoke", token)[0] == 0
    assert json.loads(run(capsys, "consent", "show", token, "--json")[1])["status"] == "revoked"


def test_consent_new_defaults_stay_within_the_rules(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    before = datetime.now(UTC)
    code, out, _ = run(
        capsys, "consent", "new", "--patient-ref", "P-1", "--group", "telegram:-1",
        "--clinician", "telegram:1", "--json",
    )  # fmt: skip
    assert code == 0
    record = json.loads(out)
    assert record["max_images"] == 10  # every consent has a number of images
    valid_for = datetime.fromisoformat(record["valid_until"]) - before
    assert timedelta(days=29) < valid_for <= timedelta(days=30, minutes=1)
    assert stat.S_IMODE((data_dir / "consent-registry.db").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--days", "366"], "between 1 and 365"), (["--max-images", "101"], "between 1 and 100")],
)
def test_consent_new_beyond_the_maxima_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    code, _, err = run(
        capsys, "consent", "new", "--patient-ref", "P", "--group", "telegram:-1", "--clinician", "telegram:1",
        *extra,
    )  # fmt: skip
    assert code == 2
    assert message in err


def test_consent_new_follows_the_configured_rules_and_may_name_wildcards(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSENTGUARD_CONSENT__REGISTRY_MAX_DAYS", "400")
    monkeypatch.setenv("CONSENTGUARD_CONSENT__REGISTRY_DEFAULT_IMAGES", "4")
    code, out, err = run(
        capsys, "consent", "new", "--patient-ref", "P", "--group", "*", "--clinician", "telegram:*",
        "--days", "400", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["max_images"] == 4
    assert json.loads(out)["groups"] == ["*"]  # the operator may; a clinician key may not


def test_the_registry_makes_its_data_directory_private(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "fresh" / "data"
    monkeypatch.setenv("CONSENTGUARD_DATA_DIR", str(data_dir))
    assert run(capsys, "consent", "key", "new", "--role", "bot")[0] == 0
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "consent-registry.db").stat().st_mode) == 0o600


def test_key_new_prints_a_key_once(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "consent", "key", "new", "--role", "bot")
    assert code == 0
    assert out.strip().startswith("cgk_bot_")
    assert "shown once" in err


def test_bad_group_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "consent", "new", "--patient-ref", "P", "--group", "nope", "--clinician", "telegram:1"
    )
    assert code == 2
    assert "PLATFORM" in err


def test_show_of_a_mistyped_token_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "consent", "show", "CG-1234")
    assert code == 2
    assert "invalid consent token" in err


def test_bench_consent_prints_throughput(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "bench-consent", "--lookups", "50", "--concurrency", "4", "--json")
    figures = json.loads(out)
    assert code == 0
    assert figures["lookups"] == 50
    assert figures["lookups_per_s"] > 0
    assert figures["p95_ms"] >= figures["p50_ms"]


def test_libraries_that_log_urls_are_kept_quiet() -> None:
    configure_logging("DEBUG")
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
