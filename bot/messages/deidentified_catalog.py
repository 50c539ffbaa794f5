"""What the bot says about a de-identified repost, in French (the default) and English: data and two helpers.

The offer the poster receives privately after a removal, the confirm button's label, the attribution line
under the repost in the group, and the answers to a press. Placeholders use :meth:`str.format` names, the
same in both languages (the tests check it). Names and titles go through the catalogs' cleaning (one line,
no bidirectional controls, bounded length).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.messages.catalog import NBSP, Language
from bot.messages.compose import _clean, choose_language

_NAME_LIMIT = 64
_TITLE_LIMIT = 80


@dataclass(frozen=True, slots=True)
class DeidentifiedTexts:
    """Every sentence of the de-identified repost in one language.

    Placeholders: ``{of_group}``, ``{hours}`` (the offer), ``{title}`` (the group's name), ``{author}``.
    """

    language: Language
    #: To the poster, privately, under the masked images.
    offer: str  # {of_group}, {hours}
    of_group_named: str  # {title}
    of_group_unnamed: str
    confirm_label: str
    #: Under the repost in the group (no caption of the original: it may name the patient).
    attribution: str  # {author}
    # Answers to a press on the confirm button.
    posted: str
    gone: str
    expired: str
    not_yours: str
    failed: str

    def of_group(self, group_title: str | None) -> str:
        """``du groupe « title »`` / ``of the group “title”``, or without a name when it has none."""
        title = _clean(group_title or "", _TITLE_LIMIT)
        return self.of_group_named.format(title=title) if title else self.of_group_unnamed

    def attribution_for(self, author_name: str) -> str:
        """The attribution line with the poster's display name on one short, clean line."""
        return self.attribution.format(author=_clean(author_name, _NAME_LIMIT))


FRENCH_DEIDENTIFIED = DeidentifiedTexts(
    language="fr",
    offer=(
        "Une version anonymisée de votre image peut être publiée à sa place dans la discussion {of_group}"
        f"{NBSP}: visages et textes masqués, métadonnées supprimées, et un nouvel examen n’y trouve plus "
        "rien d’identifiant. Elle serait publiée sous votre nom, sans votre légende. Vérifiez-la ci-dessus"
        f"{NBSP}; la proposition reste valable {{hours}}{NBSP}h."
    ),
    of_group_named=f"du groupe «{NBSP}{{title}}{NBSP}»",
    of_group_unnamed="du groupe",
    confirm_label="📤 Publier la version anonymisée",
    attribution="Publié par {author} — version anonymisée par consentguard",
    posted="Version anonymisée publiée.",
    gone="Cette proposition n’est plus disponible (déjà utilisée ou expirée).",
    expired="Cette proposition a expiré.",
    not_yours="Seule la personne qui a publié l’image peut confirmer.",
    failed=f"La publication a échoué{NBSP}; réessayez dans un instant.",
)

ENGLISH_DEIDENTIFIED = DeidentifiedTexts(
    language="en",
    offer=(
        "A de-identified version of your image can be posted in its place {of_group}: faces and text "
        "masked, metadata removed, and a fresh scan finds nothing identifying in it. It would be posted "
        "under your name, without your caption. Check it above; this offer stays open for {hours} h."
    ),
    of_group_named="in the group “{title}”",
    of_group_unnamed="in the group",
    confirm_label="📤 Post the de-identified version",
    attribution="Posted by {author} — de-identified by consentguard",
    posted="De-identified version posted.",
    gone="This offer is no longer available (already used or expired).",
    expired="This offer has expired.",
    not_yours="Only the person who posted the image can confirm.",
    failed="Posting failed; please try again in a moment.",
)

#: The wording by language code. French is the default.
DEIDENTIFIED_TEXTS: Mapping[Language, DeidentifiedTexts] = {
    "fr": FRENCH_DEIDENTIFIED,
    "en": ENGLISH_DEIDENTIFIED,
}


def deidentified_texts(language: str | None) -> DeidentifiedTexts:
    """The wording in ``language`` ("fr", "en", a tag like "en-GB"); French when the bot does not speak it."""
    return DEIDENTIFIED_TEXTS[choose_language(language, None)]
