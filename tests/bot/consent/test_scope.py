from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.consent.model import (
    ChatRef,
    ConsentRecord,
    ConsentStatus,
    Purpose,
    ScopeProblem,
    ScopeRequest,
    UserRef,
    check_scope,
)

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
GROUP = ChatRef("telegram", "-1001")
POSTER = UserRef("telegram", "42")
GOOD = ConsentRecord(
    status=ConsentStatus.GRANTED,
    purposes=frozenset({Purpose.ADVICE}),
    groups=(GROUP,),
    clinicians=(POSTER,),
    valid_until=NOW + timedelta(days=30),
    max_images=3,
    images_used=1,
    patient_ref="P-0001",
)
REQUEST = ScopeRequest(chat=GROUP, poster=POSTER, purpose=Purpose.ADVICE, images=1, at=NOW)


@pytest.mark.parametrize(
    ("record", "request_", "expected"),
    [
        pytest.param(GOOD, REQUEST, None, id="covered"),
        pytest.param(
            replace(GOOD, status=ConsentStatus.REVOKED), REQUEST, ScopeProblem.REVOKED, id="revoked"
        ),
        pytest.param(
            replace(GOOD, status=ConsentStatus.EXPIRED), REQUEST, ScopeProblem.EXPIRED, id="expired"
        ),
        pytest.param(
            replace(GOOD, status=ConsentStatus.UNKNOWN), REQUEST, ScopeProblem.UNKNOWN, id="unknown"
        ),
        pytest.param(replace(GOOD, valid_until=NOW), REQUEST, ScopeProblem.EXPIRED, id="expires-now"),
        pytest.param(replace(GOOD, valid_until=None), REQUEST, None, id="no-expiry"),
        pytest.param(
            GOOD, replace(REQUEST, chat=ChatRef("telegram", "-1002")), ScopeProblem.WRONG_GROUP, id="group"
        ),
        pytest.param(
            GOOD, replace(REQUEST, chat=ChatRef("discord", "-1001")), ScopeProblem.WRONG_GROUP, id="platform"
        ),
        pytest.param(replace(GOOD, groups=(ChatRef("*", "*"),)), REQUEST, None, id="any-group"),
        pytest.param(
            replace(GOOD, groups=(ChatRef("telegram", "*"),)), REQUEST, None, id="any-telegram-group"
        ),
        pytest.param(replace(GOOD, groups=()), REQUEST, ScopeProblem.WRONG_GROUP, id="no-group"),
        pytest.param(
            GOOD, replace(REQUEST, poster=UserRef("telegram", "7")), ScopeProblem.WRONG_POSTER, id="poster"
        ),
        pytest.param(replace(GOOD, clinicians=()), REQUEST, ScopeProblem.WRONG_POSTER, id="nobody-listed"),
        pytest.param(
            replace(GOOD, clinicians=(UserRef("telegram", "*"),)), REQUEST, None, id="any-clinician"
        ),
        pytest.param(
            GOOD, replace(REQUEST, purpose=Purpose.TEACHING), ScopeProblem.WRONG_PURPOSE, id="purpose"
        ),
        pytest.param(GOOD, replace(REQUEST, images=2), None, id="last-two-images"),
        pytest.param(GOOD, replace(REQUEST, images=3), ScopeProblem.USED_UP, id="one-too-many"),
        pytest.param(replace(GOOD, images_used=3), REQUEST, ScopeProblem.USED_UP, id="used-up"),
        pytest.param(replace(GOOD, max_images=None, images_used=999), REQUEST, None, id="unlimited"),
        pytest.param(
            replace(GOOD, status=ConsentStatus.REVOKED, groups=()),
            REQUEST,
            ScopeProblem.REVOKED,
            id="revoked-first",
        ),
    ],
)
def test_scope_table(record: ConsentRecord, request_: ScopeRequest, expected: ScopeProblem | None) -> None:
    assert check_scope(record, request_) == expected


@pytest.mark.parametrize("text", ["telegram", ":1", "telegram:", ""])
def test_bad_references_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="PLATFORM"):
        ChatRef.parse(text)


def test_references_round_trip() -> None:
    assert str(ChatRef.parse("Telegram:-1001")) == "telegram:-1001"
    assert str(ChatRef.parse("*")) == "*"
    assert str(UserRef.parse("discord:9")) == "discord:9"
