"""The Metrics port's vocabulary: consent API errors labelled by class, and the null implementation."""

from __future__ import annotations

import pytest

from bot.core.metrics import ConsentErrorKind, Metrics, NoMetrics, consent_error_kind
from bot.errors import (
    ConsentApiProtocolError,
    ConsentApiRateLimitedError,
    ConsentApiUnavailableError,
    ConsentLookupError,
)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (ConsentApiUnavailableError("consent API timed out"), ConsentErrorKind.UNAVAILABLE),
        (ConsentApiUnavailableError("consent API unreachable: ConnectError"), ConsentErrorKind.UNAVAILABLE),
        (ConsentApiRateLimitedError("consent API rate limit", 3.0), ConsentErrorKind.RATE_LIMITED),
        (ConsentApiProtocolError("consent API sent malformed JSON"), ConsentErrorKind.BAD_RESPONSE),
        (ConsentLookupError("something new"), ConsentErrorKind.OTHER),
    ],
)
def test_consent_errors_are_labelled_by_their_class(
    error: ConsentLookupError, kind: ConsentErrorKind
) -> None:
    assert consent_error_kind(error) is kind


def test_no_metrics_accepts_every_call() -> None:
    port: Metrics = NoMetrics()
    port.post_judged("allow")
    port.detection_seconds(1.0)
    port.consent_error("unavailable")
