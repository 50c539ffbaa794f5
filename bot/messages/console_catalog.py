"""What the bot says when a moderator asks for a console login link (``/console``), in French and English.

Shared by the Telegram and Discord front ends. Placeholders: ``{url}``, ``{minutes}``, ``{groups}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.messages.catalog import NBSP, Language
from bot.messages.compose import choose_language


@dataclass(frozen=True, slots=True)
class ConsoleTexts:
    """Every sentence of the /console command, in one language."""

    language: Language

    private_only: str  # /console in a group: nothing else is said there, and never a link
    not_a_moderator: str  # the person moderates none of the groups the bot knows
    link: str  # {url}, {minutes}, {groups}: the login link and what it is for
    unnamed_group: str


FRENCH_CONSOLE = ConsoleTexts(
    language="fr",
    private_only="Écrivez-moi en privé pour obtenir un lien vers la console de modération.",
    not_a_moderator=f"Vous ne modérez aucun groupe que je connais{NBSP}: pas de lien vers la console.",
    link=(
        f"Console de modération ({{groups}}){NBSP}: {{url}}\n\n"
        f"Lien valable {{minutes}}{NBSP}min, une seule fois. Ne le partagez pas."
    ),
    unnamed_group="groupe sans nom",
)

ENGLISH_CONSOLE = ConsoleTexts(
    language="en",
    private_only="Write to me in private to get a link to the moderation console.",
    not_a_moderator="You moderate none of the groups I know: no console link.",
    link="Moderation console ({groups}): {url}\n\nValid {minutes} min, once. Do not share it.",
    unnamed_group="unnamed group",
)

_CATALOGS: Mapping[str, ConsoleTexts] = {"fr": FRENCH_CONSOLE, "en": ENGLISH_CONSOLE}


def console_texts(language: str | None) -> ConsoleTexts:
    """The /console texts in ``language`` (French when unsupported)."""
    return _CATALOGS[choose_language(language, None)]
