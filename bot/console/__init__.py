"""The moderators' web console (``consentguard console``): the queue, reveal, approve, reject, in a browser.

Built by :func:`bot.bootstrap.console_app`; links issued by :class:`bot.console.links.LoginLinks`.
"""

from bot.console.app import create_console_app
from bot.console.links import LoginLinks
from bot.console.ports import (
    LinkScopeModeratorCheck,
    ModeratorCheck,
    PlatformModeratorCheck,
    PlatformReposter,
    Previewer,
    Reposter,
)

__all__ = [
    "LinkScopeModeratorCheck",
    "LoginLinks",
    "ModeratorCheck",
    "PlatformModeratorCheck",
    "PlatformReposter",
    "Previewer",
    "Reposter",
    "create_console_app",
]
