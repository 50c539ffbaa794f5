"""Assemble the bot's messages from a :class:`Decision` and the wording of one language.

Nothing here takes a caption, a token, an image or OCR text: the messages can only say *what kind* of thing
was seen and *what state* the consent is in, so patient data cannot leak into a chat through them. The names
and titles that do come in (poster, group) are shown as given, after removing line breaks, control and
bidirectional-override characters, and shortening very long ones.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from bot.consent.model import ScopeProblem
from bot.domain import ConsentOutcome, ConsentState, Decision, DetectionState, Verdict
from bot.messages.catalog import Catalog, Language
from bot.messages.en import ENGLISH
from bot.messages.fr import FRENCH
from detectors.base import FindingKind

#: The languages the bot speaks, by code. French is the default.
CATALOGS: Mapping[Language, Catalog] = {"fr": FRENCH, "en": ENGLISH}
DEFAULT_LANGUAGE: Language = "fr"

#: A scope problem that the reminder explains as the matching consent state.
_SCOPE_AS_STATE: Mapping[ScopeProblem, ConsentState] = {
    ScopeProblem.REVOKED: ConsentState.REVOKED,
    ScopeProblem.EXPIRED: ConsentState.EXPIRED,
    ScopeProblem.UNKNOWN: ConsentState.UNKNOWN,
    ScopeProblem.USED_UP: ConsentState.USED_UP,
}
_REMOVED = frozenset({Verdict.DELETE, Verdict.QUARANTINE})
_KIND_ORDER = {kind.value: index for index, kind in enumerate(FindingKind)}
# Bidirectional embeddings, overrides and isolates: a display name could otherwise reorder the text around it.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NAME_LIMIT = 64
_TITLE_LIMIT = 80
_FAILURE_LIMIT = 120


def choose_language(group_language: str | None, author_language: str | None) -> Language:
    """Pick the language: the poster's when it is French or English, else the group's, else French."""
    for tag in (author_language, group_language):
        language = _supported(tag)
        if language is not None:
            return language
    return DEFAULT_LANGUAGE


def kind_label(kind: str, language: Language) -> str:
    """Name a kind of finding for people ("un visage", "a face"); an unknown kind gets a generic label."""
    catalog = _catalog(language)
    try:
        return catalog.kind_labels[FindingKind(kind)]
    except (ValueError, KeyError):
        return catalog.other_kind


def consent_help(language: Language) -> str:
    """Explain how to obtain a consent token and quote it in a caption."""
    return _catalog(language).consent_help


def queue_line(item_id: str, reason: str, kinds: Sequence[str]) -> str:
    """One line of a moderator's queue listing: short case number, reason code, kinds seen (no content)."""
    return f"{item_id[:8]} · {reason} · {','.join(kinds) or '-'}"


def review_hint(language: Language) -> str:
    """What a poster can do when they think a removal is a mistake."""
    return _catalog(language).mistake_hint


def poster_reminder(
    decision: Decision,
    language: Language,
    *,
    group_title: str | None,
    bot_mention: str,
    review_hint: str,
    removed: bool = True,
) -> str:
    """Write the private message that tells the poster what happened to their image and why.

    ``removed`` is False when the platform refused the deletion: the poster is then told the truth.
    """
    catalog = _catalog(language)
    outcome = (
        catalog.outcome[decision.verdict].format(would_have=_would_have(catalog, decision))
        if removed
        else catalog.not_removed
    )
    opening = " ".join(
        (
            catalog.greeting.format(
                bot=_clean(bot_mention, _NAME_LIMIT), of_group=_of_group(catalog, group_title)
            ),
            outcome,
        )
    )
    why = [_consent_why(catalog, decision.consent)]
    if (
        _effective_state(decision.consent) in (ConsentState.UNAVAILABLE, ConsentState.RATE_LIMITED)
        and decision.verdict is Verdict.QUARANTINE
    ):
        why.append(catalog.held_until_checked)
    why.extend(_detection_why(catalog, decision))
    paragraphs = [opening, " ".join(why), catalog.legal, catalog.consent_help]
    if decision.verdict in _REMOVED:
        hint = review_hint.strip()
        paragraphs.append(catalog.review.format(hint=hint) if hint else catalog.review_no_hint)
    paragraphs.append(catalog.closing)
    return "\n\n".join(paragraphs)


def group_notice(language: Language, *, poster_mention: str, start_link: str | None) -> str:
    """Write the short in-group fallback when the private message could not be delivered (no details)."""
    catalog = _catalog(language)
    link = (start_link or "").strip()
    return "\n".join(
        (
            catalog.group_notice.format(mention=_clean(poster_mention, _NAME_LIMIT)),
            catalog.group_notice_link.format(link=link) if link else catalog.group_notice_no_link,
        )
    )


def moderator_notice(
    decision: Decision, language: Language, *, poster_name: str, group_title: str | None, item_ref: str | None
) -> str:
    """Write the review-queue entry for moderators: who, where, what was done and why (never the caption)."""
    catalog = _catalog(language)
    lines = [
        catalog.moderator_title.format(
            verdict=catalog.verdict_done[decision.verdict], in_group=_in_group(catalog, group_title)
        )
    ]
    if decision.verdict is Verdict.MONITOR:
        lines.append(_monitor_summary(catalog, decision, poster_name))
    lines.append(catalog.field_poster.format(value=_clean(poster_name, _NAME_LIMIT)))
    lines.extend(_facts(catalog, decision))
    if item_ref:
        lines.append(catalog.field_item.format(value=_clean(item_ref, _TITLE_LIMIT)))
    if decision.verdict is Verdict.QUARANTINE:
        lines.append(catalog.quarantine_advice)
    return "\n".join(lines)


def monitor_notice(
    decision: Decision, language: Language, *, poster_name: str, group_title: str | None
) -> str:
    """Tell moderators, in monitor mode, what would have happened to a post and why."""
    catalog = _catalog(language)
    lines = [
        catalog.monitor_title.format(in_group=_in_group(catalog, group_title)),
        _monitor_summary(catalog, decision, poster_name),
        *_facts(catalog, decision),
    ]
    return "\n".join(lines)


def removal_refused_alert(
    language: Language, *, poster_name: str, group_title: str | None, link: str | None
) -> str:
    """Tell moderators that the platform refused to remove a post, with a link to it when there is one."""
    catalog = _catalog(language)
    lines = [
        catalog.removal_refused_title,
        catalog.removal_refused.format(
            poster=_clean(poster_name, _NAME_LIMIT), in_group=_in_group(catalog, group_title)
        ),
    ]
    if link:
        lines.append(catalog.removal_refused_link.format(link=link))
    lines.append(catalog.removal_refused_advice)
    return "\n".join(lines)


def withdrawal_poster_notice(language: Language, *, group_title: str | None, removed: bool) -> str:
    """Tell a poster that the patient withdrew consent, and whether their post is gone or left to them."""
    catalog = _catalog(language)
    template = catalog.withdrawn_poster_removed if removed else catalog.withdrawn_poster_not_removed
    return template.format(of_group=_of_group(catalog, group_title))


def withdrawal_moderator_notice(
    language: Language,
    *,
    poster_name: str,
    group_title: str | None,
    outcome: str,
    links: Sequence[str] = (),
    message_ids: Sequence[str] = (),
) -> str:
    """Tell moderators a withdrawn consent's post was deleted, or where it is when it could not be.

    ``outcome`` is ``removed``, ``refused`` or ``too-old`` (bot.core.takedown.TakedownOutcome); anything
    but ``removed`` lists a link to each message (or their ids when the platform has no link).
    """
    catalog = _catalog(language)
    template = {
        "removed": catalog.withdrawn_removed,
        "too-old": catalog.withdrawn_too_old,
    }.get(outcome, catalog.withdrawn_refused)
    lines = [
        catalog.withdrawn_title,
        template.format(poster=_clean(poster_name, _NAME_LIMIT), in_group=_in_group(catalog, group_title)),
    ]
    if outcome != "removed":
        if links:
            lines.extend(catalog.withdrawn_link.format(link=_clean(link, 200)) for link in links)
        elif message_ids:
            ids = _clean(", ".join(message_ids), _FAILURE_LIMIT)
            lines.append(catalog.withdrawn_messages.format(value=ids))
        lines.append(catalog.withdrawn_advice)
    return "\n".join(lines)


def repeat_offence_alert(language: Language, *, poster_name: str, group_title: str | None, count: int) -> str:
    """Tell moderators that a poster has had several images removed, and suggest a word with them."""
    if count < 1:
        raise ValueError(f"a repeat-offence alert needs at least one removal, got {count}")
    catalog = _catalog(language)
    template = catalog.repeat_one if count == 1 else catalog.repeat_many
    summary = template.format(
        poster=_clean(poster_name, _NAME_LIMIT), count=count, in_group=_in_group(catalog, group_title)
    )
    return "\n".join((catalog.repeat_title, summary, catalog.repeat_advice))


# --- helpers ---


def _catalog(language: Language) -> Catalog:
    try:
        return CATALOGS[language]
    except KeyError:
        raise ValueError(f"unsupported language {language!r}; expected one of {sorted(CATALOGS)}") from None


def _supported(tag: str | None) -> Language | None:
    """Map a language tag ("fr", "fr-CA", "en_GB", "EN") to a language the bot speaks, or None."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    if primary == "fr":
        return "fr"
    if primary == "en":
        return "en"
    return None


def _clean(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters, without control or bidirectional-override characters."""
    line = " ".join(text.split())  # line and paragraph separators too
    line = "".join(char for char in line if char not in _BIDI_CONTROLS and unicodedata.category(char) != "Cc")
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _title(group_title: str | None) -> str | None:
    title = _clean(group_title or "", _TITLE_LIMIT)
    return title or None


def _of_group(catalog: Catalog, group_title: str | None) -> str:
    title = _title(group_title)
    return catalog.of_group_named.format(title=title) if title else catalog.of_group_unnamed


def _in_group(catalog: Catalog, group_title: str | None) -> str:
    title = _title(group_title)
    return catalog.in_group_named.format(title=title) if title else catalog.in_group_unnamed


def _join(items: list[str], last: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def _kind_labels(catalog: Catalog, kinds: Iterable[str]) -> list[str]:
    """Labels in :class:`FindingKind` order; unknown kinds become one generic label at the end."""
    kinds = set(kinds)
    known = sorted((kind for kind in kinds if kind in _KIND_ORDER), key=_KIND_ORDER.__getitem__)
    labels = [catalog.kind_labels[FindingKind(kind)] for kind in known]
    if len(known) < len(kinds):
        labels.append(catalog.other_kind)
    return labels


def _effective_state(consent: ConsentOutcome) -> ConsentState:
    scope_problem = consent.scope_problem
    if consent.state is ConsentState.OUT_OF_SCOPE and scope_problem is not None:
        return _SCOPE_AS_STATE.get(scope_problem, ConsentState.OUT_OF_SCOPE)
    return consent.state


def _consent_why(catalog: Catalog, consent: ConsentOutcome) -> str:
    state = _effective_state(consent)
    problem = ""
    if state is ConsentState.MALFORMED:
        token_problem = consent.token_problem
        problem = (
            catalog.token_problem_why[token_problem]
            if token_problem is not None
            else catalog.malformed_unspecified
        )
    elif state is ConsentState.OUT_OF_SCOPE:
        scope_problem = consent.scope_problem
        problem = (
            catalog.scope_problem_why[scope_problem]
            if scope_problem is not None
            else catalog.scope_problem_unspecified
        )
    return catalog.consent_why[state].format(problem=problem)


def _consent_short(catalog: Catalog, consent: ConsentOutcome) -> str:
    state = _effective_state(consent)
    detail: str | None = None
    if state is ConsentState.MALFORMED and consent.token_problem is not None:
        detail = catalog.token_problem_short[consent.token_problem]
    elif state is ConsentState.OUT_OF_SCOPE and consent.scope_problem is not None:
        detail = catalog.scope_problem_short[consent.scope_problem]
    base = catalog.consent_short[state]
    return f"{base} ({detail})" if detail else base


def _acting(decision: Decision) -> Verdict | None:
    """What the policy does, or in monitor mode would have done (None when the decision does not say)."""
    return decision.would_have if decision.verdict is Verdict.MONITOR else decision.verdict


def _would_have(catalog: Catalog, decision: Decision) -> str:
    acting = _acting(decision)
    return catalog.verdict_done[acting] if acting is not None else catalog.verdict_unknown


def _detection_why(catalog: Catalog, decision: Decision) -> list[str]:
    detection = decision.detection
    sentences: list[str] = []
    labels = _kind_labels(catalog, detection.kinds)
    if labels:
        sentences.append(catalog.kinds_seen.format(kinds=_join(labels, catalog.list_and)))
    if detection.state is DetectionState.FAILED:
        sentences.append(catalog.detection_failed)
    elif detection.state is DetectionState.UNCHECKABLE:
        sentences.append(catalog.unchecked_file)
    elif detection.state is DetectionState.IDENTIFYING and not labels:
        sentences.append(catalog.kinds_seen_unnamed)
    elif detection.state is DetectionState.CLEAN and not labels:
        acting = _acting(decision)
        if acting is None or acting in _REMOVED:
            sentences.append(catalog.nothing_seen_strict)
            if decision.verdict in _REMOVED:
                sentences.append(catalog.restore_hint)
        else:
            sentences.append(catalog.nothing_seen)
    return sentences


def _reason(catalog: Catalog, code: str) -> str:
    """The policy's reason in words, with its code for matching the audit log."""
    code = _clean(code, _TITLE_LIMIT)
    label = catalog.reason_labels.get(code)
    return f"{label} ({code})" if label else code


def _monitor_summary(catalog: Catalog, decision: Decision, poster_name: str) -> str:
    return catalog.monitor_summary.format(
        poster=_clean(poster_name, _NAME_LIMIT), would_have=_would_have(catalog, decision)
    )


def _facts(catalog: Catalog, decision: Decision) -> list[str]:
    """The reason, consent state and detection result, one line each, for moderators."""
    detection = decision.detection
    labels = _kind_labels(catalog, detection.kinds)
    if labels:
        kinds = _join(labels, catalog.list_and)
    elif detection.state is DetectionState.IDENTIFYING:
        kinds = catalog.kinds_unnamed
    else:
        kinds = catalog.kinds_none
    lines = [
        catalog.field_reason.format(value=_reason(catalog, decision.reason)),
        catalog.field_consent.format(value=_consent_short(catalog, decision.consent)),
        catalog.field_kinds.format(value=kinds),
    ]
    if detection.state is DetectionState.FAILED:
        failures = _clean(", ".join(dict.fromkeys(detection.failures)), _FAILURE_LIMIT)
        lines.append(catalog.field_detection_failed.format(value=failures or catalog.failure_unspecified))
    return lines
