"""A burst through real python-telegram-bot, the fake Bot API server and two real scan worker processes.

30 members post 30 photos at once, one of which hangs its worker (a detector stuck in native code). Every post
must be judged exactly once: one removal, one audit decision, one reminder each; the hung one fails closed;
no scan of another post is lost when its worker is replaced; and the backlog waits on Telegram's side, not in
the bot's memory. Counts, not timings.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

from bot.bootstrap import Overrides, open_core
from bot.platforms.telegram import TelegramFrontend, TelegramPlatform, build_application
from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.scanning import ProcessPoolScanner
from tests.bot.test_pipeline import NOW
from tests.fakes.engines import SLOW_S, marker_engine
from tests.fakes.platform import FakeConsentLookup
from tests.fakes.settings import make_settings

GROUP_ID = -1001
BURST = 30
WORKERS = 2
FIRST_MEMBER = 1000


def _audit_events(core: Any) -> list[dict[str, Any]]:
    out = io.StringIO()
    core.storage.audit.export(NOW.replace(year=2000), "jsonl", out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_a_burst_of_30_posts_on_2_workers_is_judged_exactly_once_each(tmp_path: Path) -> None:
    async with FakeTelegramServer() as server:
        server.add_group(GROUP_ID, "Réa")
        members = [FIRST_MEMBER + i for i in range(BURST)]
        for member in members:
            server.add_user(member, f"Dr {member}", started_bot=True)
        server.set_bot_rights(GROUP_ID, admin=True, can_delete_messages=True)

        # Room for 8 posts at once (the default, 48, holds the whole burst): the rest must wait on the server.
        settings = make_settings(data_dir=tmp_path / "data", detection={"workers": WORKERS}, max_posts_held=8)
        application = build_application(server.token, server.base_url, server.base_file_url)
        platform = TelegramPlatform(application.bot, backoff_s=0.01)
        # Each image takes SLOW_S in a worker: the whole burst queues for about 4x the budget.
        pool = ProcessPoolScanner(marker_engine, workers=WORKERS, budget_s=SLOW_S * 6)
        async with contextlib.AsyncExitStack() as stack:
            await pool.warm_up()
            stack.push_async_callback(pool.aclose)
            overrides = Overrides(scanner=pool, consent=FakeConsentLookup())
            core = await stack.enter_async_context(
                open_core(settings, platforms={"telegram": platform}, overrides=overrides)
            )
            frontend = TelegramFrontend(application, platform, core.moderator, core.review, poll_timeout_s=1)
            await frontend.start([])
            polling = asyncio.create_task(frontend.run_polling())

            photos = [
                b"HANG" if i == 7 else b"SLOW-FACE" if i % 5 == 0 else b"SLOW-%d" % i for i in range(BURST)
            ]
            posted = [
                server.post_photo(GROUP_ID, member, photo)
                for member, photo in zip(members, photos, strict=True)
            ]

            peak_in_flight = 0
            waited_upstream = False

            def settled() -> bool:
                nonlocal peak_in_flight, waited_upstream
                peak_in_flight = max(peak_in_flight, core.moderator.in_flight)
                if server.pending_updates and core.moderator.in_flight >= core.moderator.backlog_limit:
                    waited_upstream = True
                return not server.pending_updates and len(server.deleted) >= BURST

            await server.wait_until(settled, timeout=120)
            await frontend.idle()
            await frontend.stop()
            await polling

            # Exactly once: one removal per post, never twice.
            removals = Counter(int(call.params["message_id"]) for call in server.calls_of("deleteMessage"))
            assert sorted(removals) == sorted(m["message_id"] for m in posted)
            assert set(removals.values()) == {1}
            # One audit decision per post, and the right one.
            events = _audit_events(core)
            assert Counter(e["message_id"] for e in events) == Counter(str(m["message_id"]) for m in posted)
            reasons = {int(e["message_id"]): e["reason"] for e in events}
            hung = posted[7]["message_id"]
            assert reasons.pop(hung) == "detection-failed"  # its worker was replaced; it failed closed
            faces = {m["message_id"] for i, m in enumerate(posted) if i % 5 == 0}
            assert {mid for mid, reason in reasons.items() if reason == "no-consent-identifying"} == faces
            assert set(reasons.values()) == {"no-consent-identifying", "no-consent-strict"}
            # One reminder per poster, privately.
            reminded = Counter(int(call.params["chat_id"]) for call in server.calls_of("sendMessage"))
            assert all(reminded[member] == 1 for member in members)
            assert pool.replaced_workers == 1
            assert core.storage.worklog.unfinished() == []
            # Intake was bounded: updates waited on the server while the bot was full.
            assert peak_in_flight <= core.moderator.backlog_limit
            assert waited_upstream
