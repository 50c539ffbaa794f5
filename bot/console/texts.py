"""Every sentence the console shows, in French (the default) and English."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConsoleTexts:
    """One language's sentences."""

    html_lang: str
    title: str
    groups: str
    no_groups: str
    pending: str
    empty_queue: str
    case: str
    time: str
    poster: str
    reason: str
    kinds: str
    age: str
    none: str
    reveal: str
    approve: str
    reject: str
    confirm: str
    note: str
    reject_reason: str
    selected: str
    bulk: str
    logout: str
    back: str
    other_language: str
    revealed: str
    revealed_note: str
    link_unknown: str
    link_used: str
    link_expired: str
    link_heading: str
    session_over: str
    forbidden: str
    not_found: str
    approve_unavailable: str
    done_approved: str
    done_rejected: str
    already_handled: str
    repost_failed: str
    note_too_long: str
    choose_reason: str
    hours: str
    days: str
    queue: str
    group_settings: str
    history: str
    figures: str
    reasons: dict[str, str]


FR = ConsoleTexts(
    html_lang="fr",
    title="Console des modérateurs",
    groups="Groupes",
    no_groups="Aucun groupe à examiner.",
    pending="en attente",
    empty_queue="Rien en attente dans ce groupe.",
    case="Dossier",
    time="Heure",
    poster="Auteur",
    reason="Motif",
    kinds="Éléments vus",
    age="Âge / conservation",
    none="aucun",
    reveal="Voir l'original",
    approve="Approuver",
    reject="Rejeter",
    confirm="Confirmer",
    note="Note (facultative)",
    reject_reason="Motif du rejet",
    selected="Sélection",
    bulk="Pour la sélection",
    logout="Se déconnecter",
    back="Retour",
    other_language="English",
    revealed="Original",
    revealed_note="Cet affichage est inscrit au journal d'audit (qui, quand).",
    link_heading="Lien de connexion refusé",
    link_unknown="Ce lien de connexion est inconnu. Demandez-en un nouveau.",
    link_used="Ce lien de connexion a déjà servi. Demandez-en un nouveau.",
    link_expired="Ce lien de connexion a expiré. Demandez-en un nouveau.",
    session_over="Votre session est terminée. Demandez un nouveau lien de connexion.",
    forbidden="Requête refusée (jeton de sécurité absent ou invalide).",
    not_found="Introuvable.",
    approve_unavailable=(
        "Approuver depuis cette console n'est pas possible : approuvez avec les boutons du bot, ou depuis la "
        "console servie par `consentguard run`."
    ),
    done_approved="Approuvé.",
    done_rejected="Rejeté.",
    already_handled="Déjà traité par un autre modérateur, ou supprimé.",
    note_too_long="La note dépasse 500 caractères.",
    repost_failed=(
        "La republication a échoué\u00a0: la publication reste en quarantaine. Réessayez ou rejetez-la."
    ),
    choose_reason="Choisissez un motif de rejet.",
    hours="h",
    days="jours",
    queue="File d'attente",
    group_settings="Réglages",
    history="Historique",
    figures="Chiffres",
    reasons={
        "identifying": "Identifiant",
        "no-consent": "Sans consentement",
        "out-of-scope": "Hors du champ du consentement",
        "off-topic": "Hors sujet",
        "other": "Autre",
    },
)

EN = ConsoleTexts(
    html_lang="en",
    title="Moderators' console",
    groups="Groups",
    no_groups="No group to review.",
    pending="pending",
    empty_queue="Nothing pending in this group.",
    case="Case",
    time="Time",
    poster="Poster",
    reason="Reason",
    kinds="Kinds seen",
    age="Age / retention",
    none="none",
    reveal="Reveal original",
    approve="Approve",
    reject="Reject",
    confirm="Confirm",
    note="Note (optional)",
    reject_reason="Reason for rejecting",
    selected="Selected",
    bulk="For the selection",
    logout="Log out",
    back="Back",
    other_language="Français",
    revealed="Original",
    revealed_note="This reveal is recorded in the audit log (who, when).",
    link_heading="Login link refused",
    link_unknown="This login link is unknown. Ask for a new one.",
    link_used="This login link has already been used. Ask for a new one.",
    link_expired="This login link has expired. Ask for a new one.",
    session_over="Your session has ended. Ask for a new login link.",
    forbidden="Request refused (missing or invalid security token).",
    not_found="Not found.",
    approve_unavailable=(
        "Approving from this console is not possible: approve from the bot's buttons or from the console "
        "served by `consentguard run`."
    ),
    done_approved="Approved.",
    done_rejected="Rejected.",
    already_handled="Already handled by another moderator, or deleted.",
    note_too_long="The note is longer than 500 characters.",
    repost_failed="The repost failed: the post stays in quarantine. Try again, or reject it.",
    choose_reason="Choose a reason for rejecting.",
    hours="h",
    days="days",
    queue="Queue",
    group_settings="Settings",
    history="History",
    figures="Figures",
    reasons={
        "identifying": "Identifying",
        "no-consent": "No consent",
        "out-of-scope": "Outside the consent's scope",
        "off-topic": "Off-topic",
        "other": "Other",
    },
)

LANGUAGES = {"fr": FR, "en": EN}


def texts_for(language: str | None) -> ConsoleTexts:
    """The sentences of ``language``; French when unknown."""
    return LANGUAGES.get(language or "fr", FR)
