"""The moderators' web console as one ASGI app: login, the queue, group settings, history, figures, metrics.

Each page family lives in its own module over a shared :class:`~bot.console.web.ConsoleWeb` (templates,
sessions, scope, CSRF); this module only puts them together.
"""

from __future__ import annotations

from fastapi import FastAPI

from bot.console.group_settings_page import SettingsPages
from bot.console.history import AuditHistory, HistoryPages
from bot.console.metrics import MetricsExporter, MetricsPage
from bot.console.ports import ModeratorCheck, Previewer, Reposter
from bot.console.queue import QueuePages
from bot.console.web import ConsoleWeb
from bot.core.ports import Quarantine
from bot.core.review import ReviewService
from bot.domain import Clock, utc_now
from bot.storage.console_sessions import SqlConsoleAuth
from config.settings import ConsoleSettings


def create_console_app(
    *,
    review: ReviewService,
    quarantine: Quarantine,
    auth: SqlConsoleAuth,
    settings: ConsoleSettings,
    moderator_check: ModeratorCheck,
    previewer: Previewer,
    reposter: Reposter | None = None,
    clock: Clock = utc_now,
    metrics: MetricsExporter | None = None,
    history: AuditHistory | None = None,
) -> FastAPI:
    """The console as an ASGI app over the bot's review service, quarantine and login store.

    Args:
        review: authorises and audits every reveal, approval, rejection and settings change.
        quarantine: the pending items (the queue of every group, images for previews).
        auth: one-time links and sessions.
        settings: the console's settings (public URL, idle timeout).
        moderator_check: asked again at every request of a moderator's session.
        previewer: de-identified renderings (None from it: a neutral placeholder).
        reposter: reposts approved items; None (the standalone console): approving is refused.
        clock: the time (idle timeout, reveal window, ages).
        metrics: served at ``/metrics`` to a bearer of ``settings.metrics_token``; None: no /metrics.
        history: each group's audit events (history, export, figures pages); None: no such pages.

    """
    web = ConsoleWeb(auth=auth, moderator_check=moderator_check, settings=settings, clock=clock)
    app = FastAPI(title="consentguard console", docs_url=None, redoc_url=None, openapi_url=None)
    web.register(app)
    queue = QueuePages(web, review=review, quarantine=quarantine, previewer=previewer, reposter=reposter)
    queue.register(app)
    SettingsPages(web, review=review).register(app)
    MetricsPage(metrics, settings.metrics_token).register(app)
    if history is not None:
        HistoryPages(web, history, quarantine).register(app)
    return app
