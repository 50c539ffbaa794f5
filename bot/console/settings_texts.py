"""The settings page's sentences, in French (the default) and English."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SettingsTexts:
    """One language's sentences for a group's settings page."""

    heading: str
    intro: str
    mode: str
    modes: dict[str, str]
    identifying_action: str
    actions: dict[str, str]
    retention_days: str
    retention_hint: str
    language: str
    languages: dict[str, str]
    review_chat: str
    review_chat_hint: str
    moderators: str
    moderators_hint: str
    save: str
    saved: str
    unchanged: str
    refused: str


FR = SettingsTexts(
    heading="Réglages du groupe",
    intro=(
        "Chaque changement est enregistré, inscrit au journal d'audit et appliqué au prochain message du "
        "groupe."
    ),
    mode="Mode",
    modes={
        "strict": "Strict : toute image demande un consentement valide (la règle de la loi)",
        "identifying-only": (
            "Identifiant seulement : seules les images identifiantes demandent un consentement"
        ),
        "monitor": "Observation : rien n'est retiré, les modérateurs voient ce qui l'aurait été",
    },
    identifying_action="Image identifiante sans consentement",
    actions={
        "delete": "Supprimer",
        "quarantine": "Mettre en quarantaine (copie chiffrée pour les modérateurs)",
    },
    retention_days="Conservation de la quarantaine (jours)",
    retention_hint="De 1 à 365 jours ; passé ce délai, la copie chiffrée est effacée.",
    language="Langue des messages du bot",
    languages={"fr": "Français", "en": "Anglais"},
    review_chat="Salon de revue",
    review_chat_hint=(
        "Par exemple telegram:-1001234567890 ou discord:123456789012345678 ; vide : les messages privés des "
        "modérateurs."
    ),
    moderators="Modérateurs",
    moderators_hint=(
        "Un par ligne (telegram:<id> ou discord:<id>) ; vide : les administrateurs du groupe selon la "
        "plateforme."
    ),
    save="Enregistrer",
    saved="Réglages enregistrés : ils s'appliquent dès maintenant.",
    unchanged="Rien n'a changé.",
    refused="Réglages refusés :",
)

EN = SettingsTexts(
    heading="Group settings",
    intro="Every change is stored, written to the audit log and applied to the group's next post.",
    mode="Mode",
    modes={
        "strict": "Strict: every image needs a valid consent (the law's rule)",
        "identifying-only": "Identifying only: only identifying images need a consent",
        "monitor": "Monitor: nothing is removed, moderators see what would have been",
    },
    identifying_action="Identifying image without consent",
    actions={
        "delete": "Delete",
        "quarantine": "Quarantine (an encrypted copy for the moderators)",
    },
    retention_days="Quarantine retention (days)",
    retention_hint="From 1 to 365 days; after that, the encrypted copy is erased.",
    language="Language of the bot's messages",
    languages={"fr": "French", "en": "English"},
    review_chat="Review chat",
    review_chat_hint=(
        "For example telegram:-1001234567890 or discord:123456789012345678; empty: the moderators' private "
        "chats."
    ),
    moderators="Moderators",
    moderators_hint=(
        "One per line (telegram:<id> or discord:<id>); empty: the group's administrators as the platform "
        "says."
    ),
    save="Save",
    saved="Settings saved: they apply from now on.",
    unchanged="Nothing changed.",
    refused="Settings refused:",
)


def settings_texts_for(language: str) -> SettingsTexts:
    """The settings page's texts in ``language`` (French unless English is asked)."""
    return EN if language == "en" else FR
