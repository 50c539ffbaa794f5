"""Helpers of the capture tests: ask for a link as the bot, fill the consent form as a browser would."""

from __future__ import annotations

import base64
import io
import re
from typing import Any

import httpx
from PIL import Image, ImageDraw

from tests.registry.conftest import Keys

CLINICIAN = "telegram:123456"
CHAT = "telegram:-1001234567"
PATIENT_NAME = "Zoéline Quarteron-Bellamy"


def drawn_signature() -> str:
    """A PNG data URL of a scribble, as the form's canvas sends it."""
    image = Image.new("RGB", (300, 120), "white")
    ImageDraw.Draw(image).line([(10, 100), (80, 20), (150, 90), (290, 15)], fill="black", width=3)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def new_link(
    client: httpx.AsyncClient, keys: Keys, role: str = "bot", **overrides: Any
) -> httpx.Response:
    body: dict[str, Any] = {
        "clinician": CLINICIAN,
        "chat": CHAT,
        "language": "fr",
        "chat_title": "Dermato CHU",
    }
    body.update(overrides)
    return await client.post("/v1/capture-links", json=body, headers=keys.header(role))


async def link(client: httpx.AsyncClient, keys: Keys, **overrides: Any) -> dict[str, Any]:
    response = await new_link(client, keys, **overrides)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def form_path(created: dict[str, Any]) -> str:
    return httpx.URL(created["url"]).path


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found[1]


def fields(csrf: str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "csrf": csrf,
        "lang": "fr",
        "purposes": ["advice", "teaching"],
        "days": "30",
        "max_images": "5",
        "signer": "patient",
        "patient_name": PATIENT_NAME,
        "guardian_name": "",
        "signature_png": "",
        "typed_signature": PATIENT_NAME,
        "agree": "yes",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


async def sign(client: httpx.AsyncClient, created: dict[str, Any], **overrides: Any) -> httpx.Response:
    """Open the form and submit it (``None`` drops a field)."""
    page = await client.get(form_path(created))
    assert page.status_code == 200, page.text
    return await client.post(form_path(created), data=fields(csrf_of(page.text), **overrides))


def withdrawal_code(receipt_page: str) -> str:
    found = re.search(r'id="withdrawal-code">([^<]+)<', receipt_page)
    assert found is not None
    return found[1].strip()


async def status(client: httpx.AsyncClient, keys: Keys, link_id: str, role: str = "bot") -> httpx.Response:
    return await client.get(f"/v1/capture-links/{link_id}", headers=keys.header(role))
