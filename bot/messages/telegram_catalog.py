"""What the Telegram front end itself says, in French (the default) and English.

The moderation messages (reminders, notices) live in the main catalogs; these are the Telegram bot's own
sentences: the /start and /help answers, the command replies, the review buttons and their answers, the
warning about missing rights and the note under an approved repost. Placeholders use :meth:`str.format`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.messages.catalog import NBSP, Language
from bot.messages.compose import DEFAULT_LANGUAGE, choose_language


@dataclass(frozen=True, slots=True)
class TelegramTexts:
    """Every sentence of the Telegram front end in one language.

    Placeholders: ``{moderator}``, ``{author}``, ``{mode}``, ``{pending}``.
    """

    language: Language

    # Commands.
    start_intro: str  # /start in a private chat, followed by how to obtain a consent token
    help: str
    status: str  # {mode}, {pending}
    mode_set: str  # {mode}
    mode_usage: str  # /policy with a mode the bot does not know
    moderators_only: str
    queue_empty: str

    # Answers to a press on a review button.
    item_not_found: str
    admins_only: str
    approved: str  # {moderator}
    rejected: str  # {moderator}
    open_private_chat_first: str
    sent_privately: str
    already_handled: str
    repost_failed: str
    done: str
    #: Under an approved image reposted in the group.
    repost_note: str  # {author}, {moderator}

    # The bot lacks the right to delete messages in a group.
    rights_warning: str


FRENCH_TELEGRAM = TelegramTexts(
    language="fr",
    start_intro=(
        f"Bonjour{NBSP}! consentguard protège les patients{NBSP}: les images publiées sans consentement "
        "sont retirées des groupes de soignants. Vous recevrez ici les explications quand une de vos images "
        "est retirée."
    ),
    help=(
        f"Commandes{NBSP}: /status (règle du groupe), /consent (citer un jeton de consentement), "
        "/queue et /policy (modérateurs), /console en privé (lien vers la console de modération)."
    ),
    status=f"mode{NBSP}: {{mode}} · quarantaine{NBSP}: {{pending}}",
    mode_set=f"mode{NBSP}: {{mode}}",
    mode_usage="strict | identifying-only | monitor",
    moderators_only="Réservé aux modérateurs.",
    queue_empty="File vide.",
    item_not_found="Élément introuvable ou déjà traité.",
    admins_only="Réservé aux administrateurs du groupe.",
    approved="✅ Approuvé par {moderator} et republié.",
    rejected="🗑 Rejeté par {moderator}, image supprimée.",
    open_private_chat_first="Ouvrez d’abord une conversation privée avec le bot.",
    sent_privately="Envoyé en privé.",
    already_handled="Déjà traité.",
    repost_failed=(
        "La republication a échoué\u00a0: la publication reste en quarantaine. Réessayez ou rejetez-la."
    ),
    done="OK",
    repost_note="Publié par {author}, approuvé par {moderator}.",
    rights_warning=(
        "consentguard doit être administrateur avec le droit de supprimer des messages dans ce groupe"
        f"{NBSP}; sans ce droit, les images de patients publiées sans consentement restent visibles. "
        "Merci de demander à un propriétaire du groupe de l’accorder."
    ),
)

ENGLISH_TELEGRAM = TelegramTexts(
    language="en",
    start_intro=(
        "Hello! consentguard protects patients: images posted without consent are removed from clinicians’ "
        "groups. You will get the explanations here when one of your images is removed."
    ),
    help=(
        "Commands: /status (the group’s rule), /consent (quoting a consent token), "
        "/queue and /policy (moderators), /console in private (a link to the moderation console)."
    ),
    status="mode: {mode} · quarantine: {pending}",
    mode_set="mode: {mode}",
    mode_usage="strict | identifying-only | monitor",
    moderators_only="Moderators only.",
    queue_empty="Queue empty.",
    item_not_found="Item not found or already handled.",
    admins_only="Group administrators only.",
    approved="✅ Approved by {moderator}, reposted.",
    rejected="🗑 Rejected by {moderator}, image purged.",
    open_private_chat_first="Start a private chat first.",
    sent_privately="Sent privately.",
    already_handled="Already handled.",
    repost_failed="The repost failed: the post stays in quarantine. Try again, or reject it.",
    done="OK",
    repost_note="Posted by {author}, approved by {moderator}.",
    rights_warning=(
        "consentguard must be an administrator allowed to delete messages in this group; without that "
        "right, patient images posted without consent stay visible. Please ask an owner to grant it."
    ),
)

#: The Telegram front end's wording by language code. French is the default.
TELEGRAM_TEXTS: Mapping[Language, TelegramTexts] = {"fr": FRENCH_TELEGRAM, "en": ENGLISH_TELEGRAM}


def telegram_texts(language: str | None = DEFAULT_LANGUAGE) -> TelegramTexts:
    """The Telegram front end's wording in ``language`` ("fr", "en", or a tag like "en-GB").

    A language the bot does not speak gets French, as a group policy without a usable language does.
    """
    return TELEGRAM_TEXTS[choose_language(language, None)]


# The review buttons keep both languages in one label: a notice is read by every moderator, whatever their
# language, and the Platform port's notify_moderators brings no language with it.
APPROVE_LABEL = "✅ Approuver / Approve"
REJECT_LABEL = "🗑 Rejeter / Reject"
SHOW_LABEL = "👁 Voir / Show"
