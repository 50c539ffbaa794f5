"""Every sentence of the console's history and figures pages, in French (the default) and English."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HistoryTexts:
    """One language's sentences of the history and figures pages."""

    history_heading: str
    figures_heading: str
    filters: str
    date_from: str
    date_to: str
    kind: str
    verdict: str
    decision: str
    poster: str
    any: str
    apply: str
    clear: str
    bad_filters: str
    export_csv: str
    export_jsonl: str
    time: str
    message: str
    reason: str
    kinds: str
    moderator: str
    empty: str
    previous: str
    next: str
    page: str
    week: str
    judged: str
    removal_p50: str
    removal_p95: str
    removals: str
    approvals: str
    rejections: str
    takedowns: str
    takedowns_not_removed: str
    chart_judged: str
    chart_removal: str
    chart_approvals: str
    figures_note: str
    definitions: tuple[str, ...]
    event_kinds: dict[str, str]
    verdicts: dict[str, str]
    decisions: dict[str, str]


FR = HistoryTexts(
    history_heading="Historique du groupe",
    figures_heading="Chiffres du groupe, par semaine",
    filters="Filtres",
    date_from="Du",
    date_to="Au (inclus)",
    kind="Type d'événement",
    verdict="Verdict",
    decision="Décision",
    poster="Auteur (pseudonyme)",
    any="tous",
    apply="Filtrer",
    clear="Effacer les filtres",
    bad_filters="Filtres invalides : vérifiez les dates (AAAA-MM-JJ) et le pseudonyme (16 caractères).",
    export_csv="Exporter en CSV",
    export_jsonl="Exporter en JSON lines",
    time="Heure",
    message="Message",
    reason="Motif",
    kinds="Éléments vus",
    moderator="Modérateur (pseudonyme)",
    empty="Aucun événement pour ces filtres.",
    previous="Page précédente",
    next="Page suivante",
    page="Page",
    week="Semaine",
    judged="Publications jugées",
    removal_p50="Délai de retrait (médiane)",
    removal_p95="Délai de retrait (95 %)",
    removals="Retraits mesurés",
    approvals="Approuvées après quarantaine",
    rejections="Rejetées",
    takedowns="Retirées après retrait du consentement",
    takedowns_not_removed="Retrait du consentement, non retirées",
    chart_judged="Publications jugées, par verdict",
    chart_removal="Délai de retrait (95 %), en secondes",
    chart_approvals="Approuvées après quarantaine (fausses alertes probables)",
    figures_note=(
        "Huit dernières semaines ISO (lundi 00:00 UTC). Pseudonymes et types seulement, jamais de contenu."
    ),
    definitions=(
        "Publications jugées : chaque publication une fois, selon le dernier verdict du bot (les réexamens "
        "automatiques d'une publication retenue ne comptent pas).",
        "Délai de retrait : de l'envoi de la publication à la fin de son traitement par le bot (retrait "
        "fait, auteur et modérateurs prévenus), pour les publications supprimées ou mises en quarantaine "
        "dont le retrait a réussi ; médiane et 95e centile (rang le plus proche).",
        "Approuvées après quarantaine : publications retenues puis remises par un modérateur ; une "
        "estimation des fausses alertes, à rapporter au nombre de mises en quarantaine.",
        "Retirées après retrait du consentement : publications retirées après coup parce que le patient a "
        "retiré son consentement.",
    ),
    event_kinds={
        "post": "Décision du bot",
        "moderator": "Action d'un modérateur",
        "takedown": "Retrait après retrait du consentement",
        "poster": "Version anonymisée publiée par l'auteur",
    },
    verdicts={
        "allow": "autorisée",
        "quarantine": "mise en quarantaine",
        "delete": "supprimée",
        "monitor": "surveillée",
        "policy": "réglage",
    },
    decisions={
        "approved": "approuvée",
        "rejected": "rejetée",
        "revealed": "original consulté",
        "policy-changed": "réglage modifié",
        "removal-refused": "suppression refusée par la plateforme",
        "removal-failed": "suppression échouée",
        "removal-too-old": "trop ancienne pour être supprimée",
        "deidentified-repost": "version anonymisée publiée",
    },
)

EN = HistoryTexts(
    history_heading="Group history",
    figures_heading="Group figures, by week",
    filters="Filters",
    date_from="From",
    date_to="To (inclusive)",
    kind="Kind of event",
    verdict="Verdict",
    decision="Decision",
    poster="Poster (pseudonym)",
    any="any",
    apply="Filter",
    clear="Clear filters",
    bad_filters="Invalid filters: check the dates (YYYY-MM-DD) and the pseudonym (16 characters).",
    export_csv="Export as CSV",
    export_jsonl="Export as JSON lines",
    time="Time",
    message="Message",
    reason="Reason",
    kinds="Kinds seen",
    moderator="Moderator (pseudonym)",
    empty="No event for these filters.",
    previous="Previous page",
    next="Next page",
    page="Page",
    week="Week",
    judged="Posts judged",
    removal_p50="Removal time (median)",
    removal_p95="Removal time (95th percentile)",
    removals="Removals timed",
    approvals="Approved after quarantine",
    rejections="Rejected",
    takedowns="Taken down after consent withdrawal",
    takedowns_not_removed="Consent withdrawn, not taken down",
    chart_judged="Posts judged, by verdict",
    chart_removal="Removal time (95th percentile), seconds",
    chart_approvals="Approved after quarantine (likely false alarms)",
    figures_note="The last eight ISO weeks (Monday 00:00 UTC). Pseudonyms and kinds only, never content.",
    definitions=(
        "Posts judged: each post once, by the bot's latest verdict (automatic re-checks of a held post do "
        "not count).",
        "Removal time: from when the post was sent to when the bot finished handling it (removed, poster and "
        "moderators told), for deleted or quarantined posts whose removal succeeded; median and 95th "
        "percentile (nearest rank).",
        "Approved after quarantine: posts held and then put back by a moderator; an estimate of false "
        "alarms, to read against the number quarantined.",
        "Taken down after consent withdrawal: posts removed after the fact because the patient withdrew "
        "their consent.",
    ),
    event_kinds={
        "post": "Bot's judgement",
        "moderator": "Moderator's action",
        "takedown": "Takedown after consent withdrawal",
        "poster": "De-identified version posted by the poster",
    },
    verdicts={
        "allow": "allowed",
        "quarantine": "quarantined",
        "delete": "deleted",
        "monitor": "monitored",
        "policy": "setting",
    },
    decisions={
        "approved": "approved",
        "rejected": "rejected",
        "revealed": "original revealed",
        "policy-changed": "setting changed",
        "removal-refused": "removal refused by the platform",
        "removal-failed": "removal failed",
        "removal-too-old": "too old to remove",
        "deidentified-repost": "de-identified version posted",
    },
)

_BY_LANGUAGE = {"fr": FR, "en": EN}


def history_texts_for(language: str | None) -> HistoryTexts:
    """The history and figures texts of ``language`` (French when unknown)."""
    return _BY_LANGUAGE.get(language or "fr", FR)
