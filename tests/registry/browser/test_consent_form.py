"""The consent form in Chromium on a phone: read, switch language, draw, refuse, sign, receipt, withdraw."""

from __future__ import annotations

import hashlib
import re

from playwright.sync_api import BrowserContext, Page, expect

from bot.consent.token import parse_token
from tests.registry.browser.conftest import PHONE, Registry

CHAT = "telegram:-1001234567"
CLINICIAN = "telegram:123456"
CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


def new_link(registry: Registry, **overrides: str) -> dict[str, str]:
    body = {"clinician": CLINICIAN, "chat": CHAT, "language": "fr", "chat_title": "Dermato CHU"} | overrides
    with registry.api() as api:
        response = api.post("/v1/capture-links", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def link_status(registry: Registry, link_id: str) -> dict[str, str | None]:
    with registry.api() as api:
        return api.get(f"/v1/capture-links/{link_id}").json()  # type: ignore[no-any-return]


def draw_with_mouse(page: Page) -> None:
    page.locator("#signature-pad").scroll_into_view_if_needed()
    box = page.locator("#signature-pad").bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    page.mouse.move(x + 20, y + box["height"] * 0.7)
    page.mouse.down()
    for step in range(1, 25):
        page.mouse.move(x + 20 + step * 12, y + box["height"] * (0.7 - 0.4 * ((step % 6) / 6)), steps=2)
    page.mouse.up()


def draw_with_finger(page: Page, context: BrowserContext) -> None:
    """Real touch events (what a phone sends), through the DevTools protocol: Playwright only taps."""
    page.locator("#signature-pad").scroll_into_view_if_needed()
    box = page.locator("#signature-pad").bounding_box()
    assert box is not None
    session = context.new_cdp_session(page)
    points = [(box["x"] + 30 + 15 * i, box["y"] + 40 + (i % 4) * 15) for i in range(16)]
    session.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [_touch(*points[0])]})
    for point in points[1:]:
        session.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [_touch(*point)]})
    session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    session.detach()


def _touch(x: float, y: float) -> dict[str, float]:
    return {"x": x, "y": y}


def test_sign_on_a_phone_then_the_bot_collects_the_token_once(
    registry: Registry, phone: BrowserContext
) -> None:
    created = new_link(registry)
    page = phone.new_page()
    page.goto(created["url"])

    # French first, saying plainly what is shared, where, and how to withdraw; made for a phone screen.
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("h1")).to_have_text("Consentement au partage de photos")
    expect(page.locator("#group")).to_have_text("Dermato CHU")
    expect(page.locator("#clinician")).to_have_text(CLINICIAN)
    expect(page.locator("#closed-group")).to_contain_text("groupe fermé de professionnels de santé")
    expect(page.locator("#purposes")).to_contain_text("Enseignement")
    expect(page.locator("#days option:checked")).to_have_text("90 jours")
    expect(page.locator("#how-to-withdraw")).to_contain_text(f"{registry.url}/withdraw")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    submit = page.locator("#submit").bounding_box()
    assert submit is not None
    assert submit["height"] >= 44
    expect(page.locator("#agree")).not_to_be_checked()
    expect(page.locator("#guardian-block")).to_be_hidden()

    page.locator("#switch-language").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Consent to share photos")
    expect(page.locator("#days option:checked")).to_have_text("90 days")

    page.get_by_label("Advice").check()
    page.get_by_label("Publication").check()
    page.locator("#days").select_option("30")
    page.locator("#max_images").fill("4")
    page.locator("#patient_name").fill("Zoéline Quarteron")
    draw_with_mouse(page)
    expect(page.locator("#signature_png")).to_have_value(re.compile(r"^data:image/png;base64,"))

    # Without the box ticked, the server refuses; the drawing and the choices stay.
    page.locator("#submit").click()
    expect(page.locator("#errors")).to_contain_text("Tick the box")
    assert link_status(registry, created["link_id"]) == {"status": "pending", "token": None}
    expect(page.locator("#signature_png")).to_have_value(re.compile(r"^data:image/png;base64,"))
    expect(page.get_by_label("Publication")).to_be_checked()

    page.locator("#agree").check()
    page.locator("#submit").click()
    expect(page.locator("h1")).to_have_text("Consent receipt")
    expect(page.locator("#group")).to_have_text("Dermato CHU")
    expect(page.locator("#purposes")).to_have_text("Advice, Publication")
    expect(page.locator("#duration")).to_contain_text("30 days")
    expect(page.locator("#images")).to_have_text("4")
    expect(page.locator("#signature-image")).to_be_visible()
    expect(page.locator("#withdrawal-code")).to_have_text(CODE)
    expect(page.locator("#withdraw-url")).to_have_text(f"{registry.url}/withdraw")

    # The bot gets the token once; the consent covers the group, the clinician, the purposes chosen.
    signed = link_status(registry, created["link_id"])
    assert signed["status"] == "signed"
    token = parse_token(str(signed["token"]))
    assert link_status(registry, created["link_id"]) == {"status": "collected", "token": None}
    with registry.api() as api:
        consent = api.get(f"/v1/consents/{token.value}").json()
    assert consent["status"] == "granted"
    assert (consent["groups"], consent["clinicians"]) == ([CHAT], [CLINICIAN])
    assert (consent["purposes"], consent["max_images"]) == (["advice", "publication"], 4)

    # The link works once.
    page.goto(created["url"])
    expect(page.locator("#notice-heading")).to_have_text("Lien déjà utilisé")
    expect(page.locator("#consent-form")).to_have_count(0)


def test_a_guardian_signs_with_a_finger(registry: Registry, phone: BrowserContext) -> None:
    created = new_link(registry, language="en", chat_title="")
    page = phone.new_page()
    page.goto(created["url"])
    expect(page.locator("#group")).to_have_text(CHAT)
    page.get_by_label("Teaching").check()
    page.get_by_label("Their legal representative").check()
    expect(page.locator("#guardian-block")).to_be_visible()
    page.locator("#guardian_name").fill("Anselme Vortigern")
    page.locator("#patient_name").fill("Lou Vortigern")
    draw_with_finger(page, phone)
    expect(page.locator("#signature_png")).to_have_value(re.compile(r"^data:image/png;base64,"))
    page.locator("#agree").check()
    page.locator("#submit").click()
    expect(page.locator("#signed-by")).to_contain_text("Anselme Vortigern")
    expect(page.locator("#withdrawal-code")).to_have_text(CODE)
    assert link_status(registry, created["link_id"])["status"] == "signed"


def test_withdraw_with_the_receipt_code(registry: Registry, phone: BrowserContext) -> None:
    created = new_link(registry)
    page = phone.new_page()
    page.goto(created["url"])
    page.get_by_label("Avis").check()
    page.locator("#patient_name").fill("Zoéline Quarteron")
    page.locator("#typed_signature").fill("Zoéline Quarteron")
    page.locator("#agree").check()
    page.locator("#submit").click()
    code = page.locator("#withdrawal-code").inner_text().strip()
    token = parse_token(str(link_status(registry, created["link_id"])["token"]))

    page.goto(f"{registry.url}/withdraw?lang=en")
    expect(page.locator("h1")).to_have_text("Withdraw a consent")
    wrong = ("0000" if not code.startswith("0000") else "1111") + code[4:]
    page.locator("#code").fill(wrong)
    page.locator("#submit").click()
    expect(page.locator("#errors")).to_be_visible()
    with registry.api() as api:
        assert api.get(f"/v1/consents/{token.value}").json()["status"] == "granted"

    page.locator("#code").fill(code.lower().replace("-", " "))
    page.locator("#submit").click()
    expect(page.locator("#withdrawn-heading")).to_have_text("Consent withdrawn")
    expect(page.locator("#details")).to_contain_text("Dermato CHU")
    with registry.api() as api:
        assert api.get(f"/v1/consents/{token.value}").json()["status"] == "revoked"
        feed = api.get("/v1/revocations").json()["revocations"]
    assert hashlib.sha256(token.compact.encode()).hexdigest() in {r["token_fingerprint"] for r in feed}
