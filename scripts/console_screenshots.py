"""Screenshots of the web console's main pages for the README (docs/screenshots/console-*.png).

Builds a console over a throw-away data directory holding made-up items (the shipped Grace Hopper portrait,
so the previews show the real de-identified rendering) and eight weeks of made-up audit events, serves it on
127.0.0.1 and photographs each page in Debian's Chromium (``sh scripts/install_chromium.sh`` first):

    .venv/bin/python scripts/console_screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from bot.bootstrap import console_app, login_links, open_storage
from bot.consent.model import ChatRef, UserRef
from bot.domain import AuditEvent, Post
from config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PORTRAIT = ROOT / "bot" / "evalset" / "portraits" / "grace_hopper.jpg"
GROUP = ChatRef("telegram", "-1001234567890")
NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


class Clock:
    """A settable clock: the made-up history is written in the past, the pages are read at NOW."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        """The time now."""
        return self.now


def _populate(storage: object, clock: Clock) -> None:
    quarantine, audit = storage.quarantine, storage.audit  # type: ignore[attr-defined]
    portrait = PORTRAIT.read_bytes()
    names = ["Dr Alice Martin", "Dr Karim Benali", "Dr Chloé Dubois"]
    for n, (name, kinds, reason) in enumerate(
        [
            (names[0], ("face", "person_name"), "no-consent-identifying"),
            (names[1], ("face",), "consent-expired"),
            (names[2], ("barcode", "face"), "no-consent-identifying"),
        ]
    ):
        clock.now = NOW - timedelta(hours=5 * n + 1)
        post = Post(
            chat=GROUP,
            message_id=str(900 + n),
            author=UserRef("telegram", str(4000 + n)),
            author_name=name,
            caption="(légende chiffrée)",
            images=(),
            sent_at=clock.now,
        )
        quarantine.put(post, [(f"img-{n}", portrait)], kinds, reason, timedelta(days=7), "fr")
    rng = random.Random(14)  # noqa: S311 - made-up figures, not secrets
    verdicts = ["allow"] * 6 + ["quarantine"] * 3 + ["delete"] * 2
    for day in range(56, 0, -1):
        for k in range(rng.randint(2, 9)):
            sent = NOW - timedelta(days=day, hours=rng.randint(0, 10), minutes=k)
            verdict = rng.choice(verdicts)
            clock.now = sent + timedelta(seconds=rng.uniform(1.5, 9.0))
            poster = UserRef("telegram", str(rng.randint(4000, 4010)))
            message_id = f"{day}{k:02d}"
            audit.record(
                AuditEvent(
                    platform=GROUP.platform,
                    chat_id=GROUP.chat_id,
                    message_id=message_id,
                    poster=poster,
                    verdict=verdict,
                    reason={"allow": "consent-valid", "quarantine": "no-consent-strict"}.get(
                        verdict, "no-consent-identifying"
                    ),
                    kinds=["face"] if verdict == "delete" else [],
                    consent_state="valid" if verdict == "allow" else "none",
                    time=clock.now,
                    posted_at=sent,
                )
            )
            if verdict == "quarantine" and rng.random() < 0.6:
                clock.now += timedelta(hours=2)
                decision = "approved" if rng.random() < 0.3 else "rejected"
                audit.record(
                    AuditEvent(
                        platform=GROUP.platform,
                        chat_id=GROUP.chat_id,
                        message_id=message_id,
                        poster=poster,
                        verdict="quarantine",
                        reason=f"moderator-{decision}",
                        moderator=UserRef("telegram", "777"),
                        decision=decision,
                        time=clock.now,
                    )
                )
    clock.now = NOW


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, data_dir=Path(tmp) / "data")  # type: ignore[call-arg]
        with open_storage(settings, clock) as storage:
            _populate(storage, clock)
            app = console_app(settings, storage)
            link = login_links(settings, storage).issue_operator_link()
            config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, daemon=True)
            thread.start()
            while not server.started:
                time.sleep(0.05)
            url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
            try:
                with sync_playwright() as driver:
                    browser = driver.chromium.launch(
                        executable_path="/usr/bin/chromium", args=["--no-sandbox"]
                    )
                    page = browser.new_page(viewport={"width": 1100, "height": 900})
                    page.goto(url + "/" + link.split("/", 3)[3])
                    page.wait_for_url(url + "/")
                    shots = {
                        "console-groups.png": "/",
                        "console-queue.png": f"/groups/{GROUP}",
                        "console-settings.png": f"/groups/{GROUP}/settings",
                        "console-history.png": f"/groups/{GROUP}/history",
                        "console-figures.png": f"/groups/{GROUP}/figures",
                    }
                    for name, path in shots.items():
                        page.goto(url + path)
                        page.wait_for_load_state("networkidle")
                        page.screenshot(path=str(out_dir / name), full_page=True)
                        print(out_dir / name)
                    browser.close()
            finally:
                server.should_exit = True
                thread.join(timeout=10)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
