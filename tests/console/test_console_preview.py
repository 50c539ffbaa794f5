"""The console's previewer: the de-identifier's JPEG, else None (the placeholder); the engine built once."""

from __future__ import annotations

from typing import Any

import pytest

from bot.console.preview import DeidentifyingPreviewer, placeholder_png
from bot.scanning.deidentifier import EngineDeidentifier
from detectors.deidentify import Deidentified, NotDeidentified, Refusal

_RENDERED = Deidentified(jpeg=b"JPEG", width=1, height=1, masked=1, kinds=("face",))


def _fake_deidentify(answer: object) -> tuple[list[tuple[object, bytes, str]], Any]:
    calls: list[tuple[object, bytes, str]] = []

    def deidentify(engine: object, data: bytes, *, name_hint: str = "") -> Any:
        calls.append((engine, data, name_hint))
        if isinstance(answer, Exception):
            raise answer
        return answer

    return calls, deidentify


async def test_a_rendering_is_served_and_the_engine_built_once() -> None:
    calls, render = _fake_deidentify(_RENDERED)
    built: list[Any] = []

    def build() -> Any:
        built.append(object())
        return built[-1]

    previewer = DeidentifyingPreviewer(EngineDeidentifier(build, render))
    assert built == []  # lazily
    assert await previewer.preview(b"ORIGINAL", "photo-1") == b"JPEG"
    assert await previewer.preview(b"ORIGINAL", "photo-2") == b"JPEG"
    assert len(built) == 1
    assert [(engine, hint) for engine, _, hint in calls] == [(built[0], "photo-1"), (built[0], "photo-2")]


@pytest.mark.parametrize(
    "answer", [NotDeidentified(Refusal.NOT_CLEAN), NotDeidentified(Refusal.VIDEO), RuntimeError("boom")]
)
async def test_no_rendering_means_none(answer: object) -> None:
    _calls, render = _fake_deidentify(answer)
    previewer = DeidentifyingPreviewer(EngineDeidentifier(object, render))  # type: ignore[arg-type]
    assert await previewer.preview(b"ORIGINAL", "x") is None


def test_the_placeholder_is_a_png() -> None:
    assert placeholder_png().startswith(b"\x89PNG\r\n\x1a\n")
