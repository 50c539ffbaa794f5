"""A console over a real bot storage in a temporary directory: items quarantined with the real store."""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from bot.bootstrap import Storage, console_app, login_links, open_storage
from bot.consent.model import ChatRef, UserRef
from bot.console import LoginLinks
from bot.core.review import Reviewer
from bot.domain import ApprovedPost, Post
from tests.fakes.clock import MovableClock
from tests.fakes.settings import make_settings

GROUP_A = ChatRef("telegram", "-100111")
GROUP_B = ChatRef("telegram", "-100222")
MODERATOR = UserRef("telegram", "777")
AUTHOR = UserRef("telegram", "4242")
#: Marker bytes: an original image; it must never come back as a preview.
ORIGINAL = b"\x89PNG\r\n\x1a\nPATIENT-ORIGINAL"
PREVIEW = b"\xff\xd8\xffDEIDENTIFIED"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class FakePreviewer:
    """Renders a fixed JPEG, or None (the placeholder is then served); records what it was asked."""

    def __init__(self, result: bytes | None = PREVIEW) -> None:
        self.result = result
        self.seen: list[bytes] = []

    async def preview(self, data: bytes, name_hint: str) -> bytes | None:
        self.seen.append(data)
        return self.result


class RecordingReposter:
    """Records the approved posts it was asked to repost."""

    def __init__(self) -> None:
        self.reposted: list[ApprovedPost] = []
        #: When set, the platform refuses the repost (the bot was removed from the group...).
        self.failure: Exception | None = None

    def serves(self, chat: ChatRef) -> bool:
        return chat.platform == "telegram"

    async def repost(self, approved: ApprovedPost, reviewer: Reviewer) -> None:
        if self.failure is not None:
            raise self.failure
        self.reposted.append(approved)


class SwitchModeratorCheck:
    """Says whatever the test set (True by default), and counts the questions."""

    def __init__(self) -> None:
        self.answer = True
        self.asked = 0

    async def is_moderator(self, user: UserRef, chat: ChatRef) -> bool:
        self.asked += 1
        return self.answer


@dataclass
class Console:
    """A console app, its storage and clock, and the links it issues."""

    app: FastAPI
    storage: Storage
    clock: MovableClock
    links: LoginLinks
    previewer: FakePreviewer
    check: SwitchModeratorCheck
    reposter: RecordingReposter | None
    items: dict[str, list[str]] = field(default_factory=dict)

    def put(
        self, chat: ChatRef, message_id: str, *, images: int = 1, kinds: tuple[str, ...] = ("face",)
    ) -> str:
        post = Post(
            chat=chat,
            message_id=message_id,
            author=AUTHOR,
            author_name="Dr Alice Martin",
            caption="Mme Josephine Exemplaire, escarre J3",
            images=(),
            sent_at=self.clock(),
        )
        blobs = [(f"img-{message_id}-{n}", ORIGINAL + bytes([n])) for n in range(images)]
        item_id = self.storage.quarantine.put(post, blobs, kinds, "no-consent", timedelta(days=7), "fr")
        self.items.setdefault(str(chat), []).append(item_id)
        return item_id

    def audit(self) -> list[dict[str, Any]]:
        out = io.StringIO()
        self.storage.audit.export(datetime(2000, 1, 1, tzinfo=UTC), "jsonl", out)
        return [json.loads(line) for line in out.getvalue().splitlines()]

    def moderator_link(self, *groups: ChatRef) -> str:
        return self.links.issue_login_link(MODERATOR, groups or (GROUP_A,))


@contextlib.contextmanager
def open_console(
    data_dir: Path, *, public_url: str = "http://console.test", with_reposter: bool = False, **kw: Any
) -> Iterator[Console]:
    """A console on a fresh storage under ``data_dir``."""
    clock = MovableClock()
    settings = make_settings(data_dir=data_dir, console={"public_url": public_url, **kw})
    previewer, check = FakePreviewer(), SwitchModeratorCheck()
    reposter = RecordingReposter() if with_reposter else None
    with open_storage(settings, clock) as storage:
        app = console_app(settings, storage, moderator_check=check, previewer=previewer, reposter=reposter)
        yield Console(app, storage, clock, login_links(settings, storage), previewer, check, reposter)


def path_of(link: str) -> str:
    """The path of a login link (the tests' clients have their own base URL)."""
    return "/" + link.split("/", 3)[3]


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    match = CSRF.search(html)
    assert match is not None, "no CSRF field in the page"
    return match.group(1)
