"""No caption, token or image content can reach a message; names and titles cannot break one."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

import bot.messages as messages
from bot.consent.model import ChatRef, UserRef
from bot.consent.token import find_token, new_token
from bot.domain import ConsentOutcome, ConsentState, Decision, DetectionOutcome, DetectionState, Post, Verdict
from bot.messages import Language
from tests.bot.messages.conftest import decision

LANGUAGES: list[Language] = ["fr", "en"]
PUBLIC: dict[str, set[str]] = {
    "choose_language": {"group_language", "author_language"},
    "poster_reminder": {"decision", "language", "group_title", "bot_mention", "review_hint", "removed"},
    "group_notice": {"language", "poster_mention", "start_link"},
    "moderator_notice": {"decision", "language", "poster_name", "group_title", "item_ref"},
    "monitor_notice": {"decision", "language", "poster_name", "group_title"},
    "repeat_offence_alert": {"language", "poster_name", "group_title", "count"},
    "removal_refused_alert": {"language", "poster_name", "group_title", "link"},
    "consent_help": {"language"},
    "kind_label": {"kind", "language"},
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_signatures_take_no_caption_token_or_content(name: str) -> None:
    function = getattr(messages, name)
    parameters = inspect.signature(function).parameters
    assert set(parameters) == PUBLIC[name]
    assert not any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters.values())
    for forbidden in ("caption", "token", "image", "content", "ocr", "exif"):
        assert not any(forbidden in parameter for parameter in parameters)
    for forbidden in ("caption", "token", "text", "post", "image", "content"):
        with pytest.raises(TypeError):
            inspect.signature(function).bind_partial(**{forbidden: "x"})


def _every_message(value: Decision, poster: str, title: str) -> list[str]:
    texts: list[str] = []
    for language in LANGUAGES:
        texts += [
            messages.poster_reminder(
                value, language, group_title=title, bot_mention="@bot", review_hint="/review"
            ),
            messages.group_notice(language, poster_mention=poster, start_link=None),
            messages.moderator_notice(value, language, poster_name=poster, group_title=title, item_ref="Q-1"),
            messages.monitor_notice(value, language, poster_name=poster, group_title=title),
            messages.repeat_offence_alert(language, poster_name=poster, group_title=title, count=2),
            messages.consent_help(language),
        ]
    return texts


@pytest.mark.parametrize("verdict", [Verdict.DELETE, Verdict.QUARANTINE, Verdict.MONITOR])
def test_canary_caption_and_token_never_appear(verdict: Verdict) -> None:
    token = new_token()
    canary = "CANARY-Mme-Dupont-née-le-12/03/1961"
    post = Post(
        chat=ChatRef("telegram", "-1001"),
        message_id="7",
        author=UserRef("telegram", "42"),
        author_name="Dr Canary-Poster",
        caption=f"{canary} #consent {token}",
        images=(),
        sent_at=datetime.now(UTC),
    )
    fingerprint = token.fingerprint(b"k" * 32)
    value = Decision(
        verdict=verdict,
        reason="consent-revoked",
        consent=ConsentOutcome(ConsentState.REVOKED, token_fingerprint=fingerprint),
        detection=DetectionOutcome(
            DetectionState.IDENTIFYING, frozenset({"face", "person_name", "birth_date"})
        ),
        would_have=Verdict.DELETE if verdict is Verdict.MONITOR else None,
    )
    for text in _every_message(value, post.author_name, "Groupe Canari"):
        for secret in (canary, "Dupont", "1961", str(token), token.compact, fingerprint, post.caption):
            assert secret not in text
        assert find_token(text).token is None  # the help's CG-XXXX-… template is not a real token


def _sample_decisions() -> list[Decision]:
    return [
        decision(),
        decision(
            Verdict.QUARANTINE,
            ConsentOutcome(ConsentState.UNAVAILABLE),
            DetectionOutcome(DetectionState.CLEAN),
        ),
        decision(
            Verdict.MONITOR, detection=DetectionOutcome(DetectionState.FAILED), would_have=Verdict.QUARANTINE
        ),
    ]


@pytest.mark.parametrize(
    "title",
    [
        "{bot} {0} {__class__} {poster}",  # would break or leak through a second str.format
        "Dermato\nIDF\r\n\u2028line",
        "evil\u202e\u2066txt.exe",
        "x" * 500,
    ],
)
@pytest.mark.parametrize("value", _sample_decisions())
def test_names_and_titles_are_shown_safely(title: str, value: Decision) -> None:
    for text in _every_message(value, poster=title, title=title):
        for line in text.splitlines():
            assert len(line) < 1000
        for control in ("\r", "\u2028", "\u202e", "\u2066"):
            assert control not in text
        assert "x" * 100 not in text
    if title.startswith("{"):
        notice = messages.moderator_notice(value, "en", poster_name="A", group_title=title, item_ref=None)
        assert "{bot} {0} {__class__} {poster}" in notice


@pytest.mark.parametrize("value", _sample_decisions())
def test_messages_use_typographic_apostrophes_only(value: Decision) -> None:
    for text in _every_message(value, poster="Dr Martin", title="Dermato IDF"):
        assert "'" not in text


def test_every_public_function_has_a_docstring() -> None:
    for name in PUBLIC:
        function: Callable[..., object] = getattr(messages, name)
        assert function.__doc__
        assert function.__doc__.strip().splitlines()[0].endswith(".")
