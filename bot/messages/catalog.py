"""The shape every language's wording fills in: one :class:`Catalog` per language, data only.

Keeping the words apart from the code that assembles them lets a translator review one file per language,
lets mypy check that no language forgets a field, and lets the tests check that both languages use the same
placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bot.consent.model import ScopeProblem, TokenProblem
from bot.domain import ConsentState, Verdict
from detectors.base import FindingKind

Language = Literal["fr", "en"]

#: Non-breaking space, kept inside numbers, amounts and quotation marks so that a phone never wraps them.
NBSP = "\u00a0"


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every sentence and label of the bot's messages in one language.

    Placeholders use :meth:`str.format` names: ``{title}``, ``{bot}``, ``{poster}``,
    ``{kinds}``, ``{count}``, ``{would_have}``, ``{hint}``, ``{mention}``, ``{link}``, ``{value}``,
    ``{problem}``, ``{verdict}``, ``{in_group}``, ``{of_group}``.
    """

    language: Language

    # Lists and names.
    kind_labels: Mapping[FindingKind, str]
    other_kind: str  # a kind this version does not know (a newer detector)
    list_and: str  # the word before the last item of a list: "et" / "and"
    of_group_named: str  # {title} -> du groupe « Title »
    of_group_unnamed: str
    in_group_named: str  # {title} -> dans le groupe « Title »
    in_group_unnamed: str

    # Verdicts: what was done, as a past participle ("supprimée", "deleted").
    verdict_done: Mapping[Verdict, str]
    verdict_unknown: str  # a monitor-mode decision that does not say what would have happened

    # Private reminder.
    greeting: str  # {bot}, {of_group}
    outcome: Mapping[Verdict, str]  # {would_have} for MONITOR
    consent_why: Mapping[ConsentState, str]  # {problem} for MALFORMED and OUT_OF_SCOPE
    token_problem_why: Mapping[TokenProblem, str]
    malformed_unspecified: str
    scope_problem_why: Mapping[ScopeProblem, str]
    scope_problem_unspecified: str
    held_until_checked: str  # registry unreachable and the image is set aside
    kinds_seen: str  # {kinds}
    kinds_seen_unnamed: str
    nothing_seen_strict: str  # strict group: every patient image needs consent
    restore_hint: str  # ...and a moderator can restore a slide or figure
    nothing_seen: str
    detection_failed: str
    #: A file the bot cannot look into (an archive, an office document): what to post instead.
    unchecked_file: str
    legal: str
    review: str  # {hint}
    review_no_hint: str
    closing: str
    #: What the poster can do if the removal is a mistake (the reminder's {hint}).
    mistake_hint: str

    # How to obtain and quote a consent token.
    consent_help: str

    # Group notice (the private message could not be delivered).
    group_notice: str  # {mention}
    group_notice_link: str  # {link}
    group_notice_no_link: str

    # Moderators.
    consent_short: Mapping[ConsentState, str]
    token_problem_short: Mapping[TokenProblem, str]
    scope_problem_short: Mapping[ScopeProblem, str]
    moderator_title: str  # {verdict}, {in_group}
    monitor_title: str  # {in_group}
    monitor_summary: str  # {poster}, {would_have}
    field_poster: str  # {value}
    field_reason: str
    #: The policy's stable reason codes (bot/core/policy.py) in words; an unknown code is shown as it is.
    reason_labels: Mapping[str, str]
    field_consent: str
    field_kinds: str
    field_detection_failed: str  # {value}: the failure reasons
    failure_unspecified: str
    field_item: str
    kinds_none: str
    kinds_unnamed: str
    quarantine_advice: str
    repeat_title: str
    repeat_one: str  # {poster}, {in_group}
    repeat_many: str  # {poster}, {count}, {in_group}
    repeat_advice: str

    # The platform refused to remove a post (rights missing, message too old to delete).
    not_removed: str  # to the poster, instead of the outcome: the truth, and what to do
    removal_refused_title: str
    removal_refused: str  # {poster}, {in_group}
    removal_refused_link: str  # {link}
    removal_refused_advice: str

    # The patient withdrew a consent: the posts allowed under it are taken down.
    withdrawn_poster_removed: str  # {of_group}: to the poster, the post is gone
    withdrawn_poster_not_removed: str  # {of_group}: to the poster, the bot could not delete it
    withdrawn_title: str
    withdrawn_removed: str  # {poster}, {in_group}
    withdrawn_refused: str  # {poster}, {in_group}: the platform refused the deletion
    withdrawn_too_old: str  # {poster}, {in_group}: past the platform's deletion window (Telegram: 48 h)
    withdrawn_link: str  # {link}: one line per message
    withdrawn_messages: str  # {value}: the message ids, when the platform has no link
    withdrawn_advice: str
