"""GET /metrics on the console: absent without a token, 401 without the right bearer, the figures with it.

The last tests run real posts through the pipeline of a core (fake platform, consent registry and scanner)
and read the figures as Prometheus would, from the console ``consentguard run`` serves.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from bot.bootstrap import Core, Overrides, open_core, running_console_app
from bot.consent.model import ChatRef, UserRef
from bot.consent.token import new_token
from bot.domain import Post, PostImage
from tests.console.helpers import GROUP_A, Console, open_console
from tests.fakes.clock import MovableClock
from tests.fakes.platform import FakeConsentLookup, RecordingPlatform, StubScanner, utc
from tests.fakes.settings import make_settings

TOKEN = "prometheus-scrape-token-0123456789"  # noqa: S105 - a test's scrape token
FAMILIES = (
    "consentguard_posts_judged",
    "consentguard_detection_seconds",
    "consentguard_consent_api_errors",
    "consentguard_quarantine_pending",
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@contextlib.asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test") as c:
        yield c


# -- the standalone console (consentguard console) -----------------------------------------------------


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    with open_console(tmp_path / "data", metrics_token=TOKEN) as console:
        yield console


async def test_without_a_configured_token_there_is_no_metrics_page(tmp_path: Path) -> None:
    with open_console(tmp_path / "data") as console:
        async with client_of(console.app) as client:
            response = await client.get("/metrics", headers=bearer(TOKEN))
    assert response.status_code == 404


async def test_a_blank_token_counts_as_none(tmp_path: Path) -> None:
    with open_console(tmp_path / "data", metrics_token="  ") as console:  # noqa: S106 - blank on purpose
        async with client_of(console.app) as client:
            response = await client.get("/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        b"Bearer wrong-token",
        f"Bearer {TOKEN}x".encode(),
        f"Basic {TOKEN}".encode(),
        TOKEN.encode(),
        "Bearer \u00e9-not-ascii".encode("latin-1"),  # whatever bytes a client may send
    ],
)
async def test_without_the_right_bearer_token_it_answers_401(
    console: Console, authorization: bytes | None
) -> None:
    headers = [(b"authorization", authorization)] if authorization is not None else []
    async with client_of(console.app) as client:
        response = await client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "consentguard" not in response.text


async def test_a_session_cookie_is_not_enough(console: Console) -> None:
    async with client_of(console.app) as client:
        login = await client.get("/login/" + console.moderator_link().rsplit("/", 1)[1])
        assert login.status_code == 200
        response = await client.get("/metrics")
    assert response.status_code == 401


async def test_with_the_token_it_serves_every_family_and_the_queue_depth(console: Console) -> None:
    console.put(GROUP_A, "10")
    console.put(GROUP_A, "11")
    async with client_of(console.app) as client:
        response = await client.get("/metrics", headers=bearer(TOKEN))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert set(FAMILIES) <= names
    values = samples(response.text)
    assert values[("consentguard_quarantine_pending", ())] == 2.0
    # Standalone, no post is judged in this process: its counters stay at zero.
    assert values[("consentguard_posts_judged_total", (("verdict", "delete"),))] == 0.0
    assert values[("consentguard_detection_seconds_count", ())] == 0.0
    # What was quarantined never shows: no caption, no author, no chat.
    for secret in ("Exemplaire", "Alice", "-100111", "4242"):
        assert secret not in response.text


# -- the console of a running core (consentguard run) ----------------------------------------------------

GROUP = ChatRef("telegram", "-1001")
ALICE = UserRef("telegram", "42")


@dataclass
class Running:
    core: Core
    platform: RecordingPlatform
    consent: FakeConsentLookup
    app: FastAPI

    def post(self, message_id: str, data: bytes, caption: str = "") -> Post:
        image_id = f"img-{message_id}"
        self.platform.images[image_id] = data
        image = PostImage(image_id=image_id, fetch=self.platform.fetcher(GROUP, image_id))
        return Post(
            chat=GROUP,
            message_id=message_id,
            author=ALICE,
            author_name="Dr Alice",
            caption=caption,
            images=(image,),
            sent_at=utc(),
            chat_title="Dermato avis",
        )

    async def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        async with client_of(self.app) as client:
            response = await client.get("/metrics", headers=bearer(TOKEN))
        assert response.status_code == 200
        return samples(response.text)


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text("")
    settings = make_settings(
        data_dir=tmp_path / "data", policy_file=policy_file, console={"metrics_token": TOKEN}
    )
    platform, consent = RecordingPlatform(), FakeConsentLookup()
    # Retries far off: a retry judges again, and would add its own figures while the test reads them.
    overrides = Overrides(
        clock=MovableClock(utc()), scanner=StubScanner(), consent=consent, retry_delays_s=(3600.0,)
    )
    async with open_core(settings, platforms={"telegram": platform}, overrides=overrides) as core:
        yield Running(core, platform, consent, running_console_app(settings, core))


async def test_judging_a_post_counts_its_verdict_and_one_detection(running: Running) -> None:
    handled = await running.core.moderator.handle(running.post("1", b"FACE-1", "Avis sur cette plaie ?"))
    assert handled is not None
    verdict = handled.decision.verdict.value
    values = await running.scrape()
    assert values[("consentguard_posts_judged_total", (("verdict", verdict),))] == 1.0
    assert sum(v for (name, _), v in values.items() if name == "consentguard_posts_judged_total") == 1.0
    assert values[("consentguard_detection_seconds_count", ())] == 1.0
    assert values[("consentguard_detection_seconds_sum", ())] >= 0.0
    assert values[("consentguard_consent_api_errors_total", (("kind", "unavailable"),))] == 0.0
    assert values[("consentguard_posts_in_flight", ())] == 0.0


async def test_the_consent_api_failing_counts_an_error(running: Running) -> None:
    running.consent.down = True
    caption = f"Plaie J5 #consent {new_token()}"
    handled = await running.core.moderator.handle(running.post("1", b"FACE-1", caption))
    assert handled is not None
    values = await running.scrape()
    assert values[("consentguard_consent_api_errors_total", (("kind", "unavailable"),))] == 1.0
    assert values[("consentguard_consent_api_errors_total", (("kind", "bad-response"),))] == 0.0
    verdict = handled.decision.verdict.value
    assert values[("consentguard_posts_judged_total", (("verdict", verdict),))] == 1.0
