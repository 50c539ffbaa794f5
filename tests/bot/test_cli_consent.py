import json
import logging
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
