"""What the Discord front end says itself, in French (the default) and English: data only.

The pipeline's messages (reminders, notices) come from :mod:`bot.messages.compose`; these are the few
sentences of Discord's own features: the start-up permission report, the review buttons' answers, the
repost note and the slash commands' replies. Placeholders use :meth:`str.format` names, the same in both
languages (the tests check it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.messages.catalog import NBSP, Language


@dataclass(frozen=True, slots=True)
class DiscordTexts:
    """Every sentence of the Discord front end in one language."""

    language: Language

    # Start-up: the bot lacks permissions in a configured channel (said there and to the server's owner).
    missing_permissions: str  # {missing}: Discord's permission names, comma-separated
    # Review buttons and moderator commands.
    already_handled: str
    repost_failed: str
    moderators_only: str  # the member lacks Manage Messages in the item's channel
    preview: str
    approved: str  # {name}: the moderator
    rejected: str  # {name}: the moderator
    repost_note: str  # {moderator}: under the approved post, reposted in the channel
    # Slash commands' replies.
    queue_empty: str
    status: str  # {mode}, {pending}
    mode: str  # {mode}
    mode_choices: str  # the values /consentguard policy accepts


FRENCH_DISCORD = DiscordTexts(
    language="fr",
    missing_permissions=f"consentguard ne peut pas modérer ce salon{NBSP}: il manque {{missing}}.",
    already_handled="Déjà traité.",
    repost_failed=(
        "La republication a échoué\u00a0: la publication reste en quarantaine. Réessayez ou rejetez-la."
    ),
    moderators_only=f"Réservé aux membres ayant «{NBSP}Gérer les messages{NBSP}».",
    preview="Aperçu",
    approved="✅ Approuvé par {name}, republié.",
    rejected="🗑 Rejeté par {name}, image supprimée.",
    repost_note="(approuvé par {moderator})",
    queue_empty="File d’attente vide.",
    status=f"mode{NBSP}: {{mode}} · quarantaine{NBSP}: {{pending}}",
    mode=f"mode{NBSP}: {{mode}}",
    mode_choices="strict | identifying-only | monitor",
)

ENGLISH_DISCORD = DiscordTexts(
    language="en",
    missing_permissions="consentguard cannot moderate this channel: missing {missing}.",
    already_handled="Already handled.",
    repost_failed="The repost failed: the post stays in quarantine. Try again, or reject it.",
    moderators_only="Manage Messages required.",
    preview="Preview",
    approved="✅ Approved by {name}, reposted.",
    rejected="🗑 Rejected by {name}, image purged.",
    repost_note="(approved by {moderator})",
    queue_empty="Queue empty.",
    status="mode: {mode} · quarantine: {pending}",
    mode="mode: {mode}",
    mode_choices="strict | identifying-only | monitor",
)

#: The Discord texts by language code. French is the default.
DISCORD_TEXTS: Mapping[Language, DiscordTexts] = {"fr": FRENCH_DISCORD, "en": ENGLISH_DISCORD}


def discord_texts(language: Language = "fr") -> DiscordTexts:
    """The Discord front end's sentences in ``language`` ("fr", the default, or "en")."""
    try:
        return DISCORD_TEXTS[language]
    except KeyError:
        raise ValueError(
            f"unsupported language {language!r}; expected one of {sorted(DISCORD_TEXTS)}"
        ) from None


# -- shown by Discord's own interface, the same for everyone ------------------------------------------------

# Slash-command descriptions stay English: Discord shows them in its command picker and localises them
# through its own per-locale fields (description_localizations), not through a reply we choose. Discord
# refuses a description longer than 100 characters.
COMMAND_GROUP = "consentguard: patient images and consent"
COMMAND_STATUS = "This channel's rule and quarantine count"
COMMAND_QUEUE = "Quarantined posts awaiting review (moderators)"
COMMAND_POLICY = "Show or change this channel's mode (moderators)"
COMMAND_POLICY_MODE = "strict, identifying-only or monitor"
COMMAND_CONSENT = "A consent form for the patient to sign on your phone (the token comes once signed)"
COMMAND_WITHDRAW = "Withdraw a consent you captured or that names you (its posts are then deleted)"
COMMAND_WITHDRAW_ARG = "The consent token, CG-XXXX-XXXX-XXXX-XXXX-X"
COMMAND_CONSOLE = "A one-time link to the moderation console, for the channels you moderate"

# The review buttons keep both languages in one label: a moderator notice is read by every moderator,
# whatever their locale, and the Platform port's notify_moderators brings no language with it. Discord
# refuses a button label longer than 80 characters.
APPROVE_LABEL = "Approuver / Approve"
REJECT_LABEL = "Rejeter / Reject"
SHOW_LABEL = "Voir / Show"
