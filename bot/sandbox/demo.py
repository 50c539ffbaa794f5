"""``consentguard demo``: the whole system on one machine, offline, with a scripted Telegram group.

It starts the reference consent registry, the local Telegram-compatible server (the same fake the tests use),
and the real bot — python-telegram-bot, the pipeline, the detectors, SQLite storage — then plays a few posts
in a group of clinicians and prints each decision as it happens. The quarantine queue it leaves behind is
what ``consentguard queue`` shows.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.bootstrap import Overrides, build_scan_engine, open_core
from bot.consent.model import ChatRef
from bot.core.pipeline import HandledPost
from bot.platforms.telegram import TelegramFrontend, TelegramPlatform, build_application
from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.scanning import InlineScanner
from config.settings import Settings

GROUP_ID = -1001234567890
ALICE, BOB, MODERATOR = 1001, 1002, 1003
#: Shipped inside the package (package data), so the demo runs from an installed wheel too.
DEFAULT_SAMPLES = Path(__file__).resolve().parent / "samples"


@dataclass(frozen=True, slots=True)
class Scene:
    """One scripted step: who posts what, and what a person would expect."""

    title: str
    expect: str


def _read(samples: Path, name: str) -> bytes:
    path = samples / name
    if not path.is_file():
        raise FileNotFoundError(f"demo sample {path} is missing (regenerate with scripts/make_samples.py)")
    return path.read_bytes()


async def run_demo(
    settings: Settings, *, samples: Path = DEFAULT_SAMPLES, out: TextIO = sys.stdout
) -> dict[str, Any]:
    """Play the scripted group and return a summary (verdict counts, queue size)."""
    from bot.registry.commands import new_consent

    def say(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    images = {
        name: _read(samples, name)
        for name in ("portrait.jpg", "wound-with-ruler.jpg", "wristband.png", "slide-figure.png")
    }
    group = ChatRef("telegram", str(GROUP_ID))
    token = str(
        new_consent(
            settings.registry_database(),
            patient_ref="DEMO-PATIENT-1",
            groups=[str(group)],
            clinicians=[f"telegram:{ALICE}"],
            purposes=["advice"],
            days=30,
            max_images=5,
        )["token"]
    )
    handled: list[HandledPost] = []
    seen = asyncio.Condition()

    async def on_handled(result: HandledPost) -> None:
        decision = result.decision
        kinds = ",".join(sorted(decision.detection.kinds)) or "-"
        told = "poster told privately" if result.poster_notified_privately else ""
        say(
            f"   -> {decision.verdict.value.upper():<10} ({decision.reason}; "
            f"consent {decision.consent.state.value}; seen: {kinds}) {told}".rstrip()
        )
        async with seen:
            handled.append(result)
            seen.notify_all()

    async def wait_for(count: int) -> None:
        async with seen:
            await asyncio.wait_for(seen.wait_for(lambda: len(handled) >= count), timeout=120)

    # The demo prints its own account of each decision; the components' INFO lines would repeat it.
    for name in ("bot", "consentguard", "telegram"):
        logging.getLogger(name).setLevel(logging.WARNING)
    say("consentguard demo: reference consent registry + local Telegram server + the real bot, offline.")
    say(f"data directory: {settings.data_dir.resolve()}")
    async with FakeTelegramServer(bot_username="consentguard_demo_bot") as server:
        server.add_group(GROUP_ID, "Dermatologie — avis entre confrères")
        server.add_user(ALICE, "Dr Alice Martin", started_bot=True)
        server.add_user(BOB, "Dr Bob Leroy", started_bot=False, language_code="en")
        server.add_user(MODERATOR, "Dr Modération", started_bot=True)
        server.set_admin(GROUP_ID, MODERATOR)
        demo_settings = settings.model_copy(
            update={
                "telegram": settings.telegram.model_copy(
                    update={"base_url": server.base_url, "base_file_url": server.base_file_url}
                )
            }
        )
        say("loading the detectors...")
        scanner = InlineScanner(
            build_scan_engine(demo_settings), budget_s=demo_settings.detection.time_budget_s
        )
        application = build_application(server.token, server.base_url, server.base_file_url)
        platform = TelegramPlatform(application.bot)
        async with open_core(
            demo_settings, platforms={"telegram": platform}, overrides=Overrides(scanner=scanner)
        ) as core:
            frontend = TelegramFrontend(
                application, platform, core.moderator, core.review, poll_timeout_s=1, on_handled=on_handled
            )
            await frontend.start([group])
            polling = asyncio.create_task(frontend.run_polling())
            try:
                count = 0

                say("\n1. Dr Alice posts a portrait, no consent token")
                server.post_photo(GROUP_ID, ALICE, images["portrait.jpg"], caption="Avis sur cette lésion ?")
                count += 1
                await wait_for(count)

                say(f"\n2. Dr Alice posts a wound photo with a valid token (#consent {token[:8]}…)")
                wound = server.post_photo(
                    GROUP_ID, ALICE, images["wound-with-ruler.jpg"], caption=f"Ulcère J12 #consent {token}"
                )
                count += 1
                await wait_for(count)

                say("\n3. Dr Bob (who never opened a chat with the bot) posts a wristband label with a name")
                server.post_document(GROUP_ID, BOB, images["wristband.png"], "bracelet.png", "image/png")
                count += 1
                await wait_for(count)

                say("\n4. Dr Alice posts an album (a slide and a wound photo), no token")
                server.post_album(
                    GROUP_ID,
                    ALICE,
                    [images["slide-figure.png"], images["wound-with-ruler.jpg"]],
                    caption="Cas n°3",
                )
                count += 1
                await wait_for(count)

                say("\n5. Dr Alice edits post 2 and removes the token from its caption")
                server.edit_caption(GROUP_ID, wound["message_id"], "Ulcère J12")
                count += 1
                await wait_for(count)
                await frontend.idle()
            finally:
                await frontend.stop()
                await polling
                pending = await asyncio.to_thread(core.storage.quarantine.pending, group)
                await scanner.aclose()
        reminders = sum(1 for c in server.calls_of("sendMessage") if int(c.params.get("chat_id", 0)) > 0)
        notices = sum(
            1 for c in server.calls_of("sendMessage") if int(c.params.get("chat_id", 0)) == GROUP_ID
        )
    verdicts = Counter(h.decision.verdict.value for h in handled)
    say("\nsummary: " + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())))
    say(f"private messages sent: {reminders}; short group notices: {notices}")
    say(f"quarantine queue: {len(pending)} item(s) — see them with `consentguard queue`")
    say("audit log: `consentguard audit export --format csv`")
    return {"verdicts": dict(verdicts), "queue": len(pending), "handled": len(handled)}
