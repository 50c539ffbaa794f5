"""``consentguard console link --operator``: a one-time link on the public URL that opens a session."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bot.bootstrap import console_app, open_storage
from bot.cli import main
from bot.cli.console import listening_port
from tests.console.helpers import FakePreviewer, path_of
from tests.fakes.settings import make_settings


async def test_operator_link_is_printed_on_the_public_url_and_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONSENTGUARD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONSENTGUARD_CONSOLE__PUBLIC_URL", "https://console.example/")
    assert main(["console", "link", "--operator"]) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://console.example/login/")
    settings = make_settings(data_dir=tmp_path)
    with open_storage(settings) as storage:
        app = console_app(settings, storage, previewer=FakePreviewer())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://c") as http:
            assert (await http.get(path_of(link))).status_code == 200
            assert (await http.get(path_of(link))).status_code == 410


def test_listening_port(tmp_path: Path) -> None:
    assert listening_port(make_settings(data_dir=tmp_path), None) == 8788
    assert listening_port(make_settings(data_dir=tmp_path), 9000) == 9000
    public = make_settings(data_dir=tmp_path, console={"public_url": "http://127.0.0.1:9100"})
    assert listening_port(public, None) == 9100
    assert listening_port(make_settings(data_dir=tmp_path, console={"port": 9200}), None) == 9200
