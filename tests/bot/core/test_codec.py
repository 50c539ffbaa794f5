"""The work log's payload codec: round trip through the sealer, older payloads, and bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bot.consent.model import ChatRef, UserRef
from bot.core.codec import PayloadCodec
from bot.core.ports import Platform
from bot.domain import Post, PostImage
from bot.errors import SealError
from bot.storage.keys import QuarantineKeyring, generate_key
from bot.storage.sealing import WORKLOG_CONTEXT, Sealer
from tests.fakes.platform import RecordingPlatform

CHAT = ChatRef("telegram", "-1001234")


def _nothing() -> Any:
    raise AssertionError("the original fetch is never stored")


def _post(**changes: Any) -> Post:
    values: dict[str, Any] = {
        "chat": CHAT,
        "message_id": "99",
        "author": UserRef("telegram", "42"),
        "author_name": "Dr Martin",
        "caption": "Mme Dupont, 54 ans, lésion du bras",
        "images": (
            PostImage("photo-1", _nothing, file_name="a.jpg", size_bytes=1234),
            PostImage("photo-2", _nothing, unavailable_reason="too-large", message_id="100"),
        ),
        "sent_at": datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
        "album_id": "album-7",
        "edited": True,
        "author_language": "fr",
        "thread_id": "5",
        "chat_title": "Dermato",
    }
    values.update(changes)
    return Post(**values)


def _platforms(platform: RecordingPlatform) -> dict[str, Platform]:
    return {"telegram": platform}  # type: ignore[dict-item]


async def test_round_trip_through_the_sealer_keeps_every_field_and_refetches_images() -> None:
    sealer = Sealer(QuarantineKeyring(generate_key("k1"))).bind(WORKLOG_CONTEXT)
    codec = PayloadCodec(sealer.seal, sealer.open)
    post = _post()
    payload = codec.encode(post)
    assert b"Dupont" not in payload
    platform = RecordingPlatform({"photo-1": b"jpeg bytes"})
    decoded = codec.decode(payload, _platforms(platform))
    assert decoded == post  # fetch is not compared
    assert decoded.sent_at.tzinfo is UTC
    assert await decoded.images[0].fetch() == b"jpeg bytes"


def test_a_minimal_post_and_a_non_utc_time_round_trip() -> None:
    codec = PayloadCodec(bytes, bytes)
    paris = timezone(timedelta(hours=1))
    post = _post(
        images=(),
        sent_at=datetime(2025, 3, 1, 13, 0, tzinfo=paris),
        album_id=None,
        edited=False,
        author_language=None,
        thread_id=None,
        chat_title=None,
    )
    decoded = codec.decode(codec.encode(post), _platforms(RecordingPlatform()))
    assert decoded == post
    assert decoded.sent_at.utcoffset() == timedelta(hours=1)


def test_payloads_written_by_the_former_codec_still_decode() -> None:
    # Exactly what the hand-written json.dumps of earlier versions produced.
    old = {
        "chat": "telegram:-1001234",
        "message_id": "99",
        "author": "telegram:42",
        "author_name": "Dr Martin",
        "caption": "Mme Dupont, 54 ans, lésion du bras",
        "sent_at": "2025-03-01T12:00:00+00:00",
        "album_id": "album-7",
        "edited": True,
        "author_language": "fr",
        "thread_id": "5",
        "chat_title": "Dermato",
        "images": [
            {
                "image_id": "photo-1",
                "file_name": "a.jpg",
                "size_bytes": 1234,
                "unavailable_reason": None,
                "message_id": None,
            },
            {
                "image_id": "photo-2",
                "file_name": "",
                "size_bytes": None,
                "unavailable_reason": "too-large",
                "message_id": "100",
            },
        ],
    }
    codec = PayloadCodec(bytes, bytes)
    assert codec.decode(json.dumps(old).encode(), _platforms(RecordingPlatform())) == _post()
    # The field names and formats did not change; one field was added since (incidental pictures).
    added = {**old, "images": [{**image, "incidental": False} for image in old["images"]]}
    assert json.loads(codec.encode(_post())) == added


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"chat": "telegram:-1"}',
        json.dumps({"chat": "nowhere"}).encode(),
    ],
)
def test_bad_payloads_are_undecodable(payload: bytes) -> None:
    with pytest.raises(ValueError, match="undecodable work-log payload"):
        PayloadCodec(bytes, bytes).decode(payload, _platforms(RecordingPlatform()))


def test_an_unknown_platform_or_a_bad_time_is_undecodable() -> None:
    codec = PayloadCodec(bytes, bytes)
    encoded = json.loads(codec.encode(_post()))
    for changed in ({"chat": "matrix:!room"}, {"sent_at": "yesterday"}, {"author": "no-platform"}):
        with pytest.raises(ValueError, match="undecodable work-log payload"):
            codec.decode(json.dumps({**encoded, **changed}).encode(), _platforms(RecordingPlatform()))


def test_a_payload_sealed_with_an_unknown_key_raises_the_seal_error() -> None:
    written = Sealer(QuarantineKeyring(generate_key("k1"))).bind(WORKLOG_CONTEXT)
    reader = Sealer(QuarantineKeyring(generate_key("k2"))).bind(WORKLOG_CONTEXT)
    payload = PayloadCodec(written.seal, written.open).encode(_post())
    with pytest.raises(SealError):
        PayloadCodec(reader.seal, reader.open).decode(payload, _platforms(RecordingPlatform()))
