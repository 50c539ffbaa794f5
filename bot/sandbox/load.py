"""``consentguard bench-bot``: the real bot under load, through the local Telegram server.

It composes the bot as ``consentguard run`` does (python-telegram-bot polling, the pipeline, the scan worker
processes, SQLite storage, the embedded consent registry) against the local Bot API server, then posts images
from a folder, each from its own member, as a burst or at a steady rate, and measures:

- removal latency: from the moment an update is available on the server to the bot's deleteMessage call;
- judged images per second: from the first post to the last decision;
- the backlog over time: posts the bot holds (accepted, not finished) and updates still waiting on the server;
- peak resident memory of the bot's process plus its scan workers (sampled every 100 ms).

Figures are printed, never asserted: timings belong in a benchmark, not in a test that flakes when busy.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import psutil

from bot.bootstrap import open_core
from bot.consent.model import ChatRef
from bot.core.pipeline import HandledPost
from bot.platforms.telegram import TelegramFrontend, TelegramPlatform, build_application
from bot.sandbox.fake_telegram import FakeTelegramServer
from bot.sandbox.fake_telegram_state import prepare_thumbnails
from config.settings import Settings

GROUP_ID = -1009000000001
FIRST_MEMBER = 5_000_000
_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic"})


@dataclass(slots=True)
class _Samples:
    """What the samplers saw while the load ran."""

    peak_rss_bytes: int = 0
    peak_workers: int = 0
    #: Each process's resident memory when the sum peaked (the bot first), in bytes.
    peak_split: list[int] = field(default_factory=list)
    backlog: list[tuple[float, int, int]] = field(default_factory=list)  # (s since start, held, on server)


def load_images(folder: Path, limit: int | None = None) -> list[tuple[str, bytes]]:
    """The image files of ``folder`` (sorted by name), optionally only the first ``limit``."""
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no image file in {folder}")
    return [(p.name, p.read_bytes()) for p in paths[:limit]]


async def run_bot_bench(
    settings: Settings,
    images: Sequence[tuple[str, bytes]],
    *,
    posts: int,
    rate: float | None,
    mode: str,
    out: TextIO = sys.stdout,
) -> dict[str, Any]:
    """Post ``posts`` images (cycling through ``images``): a burst (``rate`` None), or ``rate`` per second."""
    for name in ("bot", "consentguard", "telegram", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="consentguard-bench-bot-") as folder:
        policy_file = Path(folder) / "policy.toml"
        policy_file.write_text(f'[default]\nmode = "{mode}"\n', encoding="utf-8")
        async with FakeTelegramServer(bot_username="consentguard_bench_bot") as server:
            bench_settings = settings.model_copy(
                update={
                    "data_dir": Path(folder) / "data",
                    "policy_file": policy_file,
                    "telegram": settings.telegram.model_copy(
                        update={"base_url": server.base_url, "base_file_url": server.base_file_url}
                    ),
                    "consent": settings.consent.model_copy(
                        update={"url": None, "registry_database_url": None}
                    ),
                }
            )
            return await _drive(bench_settings, server, images, posts=posts, rate=rate, mode=mode, out=out)


async def _drive(
    settings: Settings,
    server: FakeTelegramServer,
    images: Sequence[tuple[str, bytes]],
    *,
    posts: int,
    rate: float | None,
    mode: str,
    out: TextIO,
) -> dict[str, Any]:
    server.add_group(GROUP_ID, "Bench ward")
    server.set_bot_rights(GROUP_ID, admin=True, can_delete_messages=True)
    members = [FIRST_MEMBER + i for i in range(posts)]
    for member in members:
        server.add_user(member, f"Dr {member}", started_bot=True)
    judged: dict[int, tuple[float, HandledPost]] = {}
    all_judged = asyncio.Event()
    for _, data in images[:posts]:
        prepare_thumbnails(data)

    async def on_handled(result: HandledPost) -> None:
        judged[int(result.post_key.rsplit(":", 1)[1])] = (time.monotonic(), result)
        if len(judged) >= posts:
            all_judged.set()

    application = build_application(server.token, server.base_url, server.base_file_url)
    platform = TelegramPlatform(application.bot)
    out.write(f"starting the bot ({settings.detection.workers or psutil.cpu_count()} scan workers)...\n")
    async with open_core(settings, platforms={"telegram": platform}) as core:
        frontend = TelegramFrontend(application, platform, core.moderator, core.review, on_handled=on_handled)
        await frontend.start([ChatRef("telegram", str(GROUP_ID))])
        polling = asyncio.create_task(frontend.run_polling())
        samples = _Samples()
        started = time.monotonic()
        sampler = asyncio.create_task(_sample(samples, core.moderator, server, started))
        available: dict[int, float] = {}
        try:
            out.write(f"posting {posts} images ({'a burst' if rate is None else f'{rate:g}/s'}, {mode})...\n")
            for index, member in enumerate(members):
                if rate is not None:
                    await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
                _, data = images[index % len(images)]
                message = server.post_photo(GROUP_ID, member, data, caption="avis ?")
                available[int(message["message_id"])] = time.monotonic()
            await asyncio.wait_for(all_judged.wait(), timeout=60 + posts * 30)
            finished = time.monotonic()
            await frontend.idle()
        finally:
            sampler.cancel()
            await frontend.stop()
            await polling
    return _report(server, available, judged, samples, started, finished, out)


async def _sample(samples: _Samples, moderator: Any, server: FakeTelegramServer, started: float) -> None:
    me = psutil.Process()
    next_backlog = next_listing = 0.0
    children: list[psutil.Process] = []
    while True:
        try:
            if time.monotonic() >= next_listing:
                # Listing children walks all of /proc (about 10 ms here): once a second, not every sample, or
                # the sampler itself would slow the event loop it shares with the bot.
                children = me.children(recursive=True)
                next_listing = time.monotonic() + 1.0
            split = [int(me.memory_info().rss), *sorted((_rss(child) for child in children), reverse=True)]
        except psutil.Error:
            split, children = [], []
        if sum(split) > samples.peak_rss_bytes:
            samples.peak_rss_bytes, samples.peak_split = sum(split), split
        samples.peak_workers = max(samples.peak_workers, len(children))
        elapsed = time.monotonic() - started
        if elapsed >= next_backlog:
            samples.backlog.append((elapsed, moderator.in_flight, len(server.state.updates)))
            next_backlog += 0.5
        await asyncio.sleep(0.1)


def _rss(process: psutil.Process) -> int:
    try:
        return int(process.memory_info().rss)
    except psutil.Error:
        return 0


def _report(
    server: FakeTelegramServer,
    available: dict[int, float],
    judged: dict[int, tuple[float, HandledPost]],
    samples: _Samples,
    started: float,
    finished: float,
    out: TextIO,
) -> dict[str, Any]:
    deletions = {
        int(call.params["message_id"]): call.at
        for call in server.calls_of("deleteMessage")
        if int(call.params.get("chat_id", 0)) == GROUP_ID
    }
    removal_s = sorted(deletions[m] - t for m, t in available.items() if m in deletions)
    verdicts: dict[str, int] = {}
    for _, handled in judged.values():
        verdicts[handled.decision.reason] = verdicts.get(handled.decision.reason, 0) + 1
    elapsed = finished - started
    report: dict[str, Any] = {
        "posts": len(available),
        "judged": len(judged),
        "elapsed_s": round(elapsed, 2),
        "judged_per_s": round(len(judged) / elapsed, 2) if elapsed > 0 else None,
        "removed": len(removal_s),
        "removal_s": _quantiles(removal_s),
        "decision_s": _quantiles(sorted(t - available[m] for m, (t, _) in judged.items() if m in available)),
        "reasons": dict(sorted(verdicts.items())),
        "peak_rss_mb": round(samples.peak_rss_bytes / 2**20, 1),
        "processes": 1 + samples.peak_workers,
        "peak_rss_split_mb": [round(rss / 2**20, 1) for rss in samples.peak_split],
        "backlog": [
            {"t_s": round(t, 1), "held": held, "on_server": waiting} for t, held, waiting in samples.backlog
        ],
    }
    out.write(_text(report))
    return report


def _quantiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"p50": round(statistics.median(ordered), 3), "p95": round(p95, 3), "max": round(ordered[-1], 3)}


def _text(report: dict[str, Any]) -> str:
    def q(name: str) -> str:
        values = report[name]
        if values["p50"] is None:
            return "-"
        return f"p50 {values['p50']:.3f} s, p95 {values['p95']:.3f} s, max {values['max']:.3f} s"

    backlog = report["backlog"]
    step = max(1, len(backlog) // 12)
    depth = "  ".join(f"{b['t_s']:.1f}s:{b['held']}+{b['on_server']}" for b in backlog[::step])
    return (
        f"posts {report['posts']}, judged {report['judged']} in {report['elapsed_s']:.2f} s: "
        f"{report['judged_per_s']} images/s\n"
        f"removal (update available -> deleteMessage), {report['removed']} posts: {q('removal_s')}\n"
        f"decision (update available -> judged): {q('decision_s')}\n"
        f"reasons: {', '.join(f'{k} {v}' for k, v in report['reasons'].items())}\n"
        f"backlog over time (held by the bot + waiting on the server): {depth}\n"
        f"peak RSS, bot + {report['processes'] - 1} child process(es): {report['peak_rss_mb']} MB "
        f"({' + '.join(str(mb) for mb in report['peak_rss_split_mb'])})\n"
    )
