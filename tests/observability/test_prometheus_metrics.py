"""PrometheusMetrics: each figure read back through its own registry, and the text Prometheus scrapes."""

from __future__ import annotations

import pytest
from prometheus_client import CONTENT_TYPE_LATEST

from bot.core.metrics import ConsentErrorKind, Metrics
from bot.domain import Verdict
from bot.observability.prometheus import PrometheusMetrics


class FakePending:
    """A quarantine that says how many items are pending, or fails as an unreachable database does."""

    def __init__(self, count: int = 0) -> None:
        self.count = count
        self.broken = False

    def count_pending(self) -> int:
        if self.broken:
            raise ConnectionError("database unreachable")
        return self.count


def value(metrics: PrometheusMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_it_satisfies_the_metrics_port() -> None:
    port: Metrics = PrometheusMetrics(FakePending())
    port.post_judged("allow")


def test_posts_are_counted_by_verdict_and_every_verdict_starts_at_zero() -> None:
    metrics = PrometheusMetrics(FakePending())
    for verdict in Verdict:
        assert value(metrics, "consentguard_posts_judged_total", verdict=verdict.value) == 0.0
    metrics.post_judged("delete")
    metrics.post_judged("delete")
    metrics.post_judged(Verdict.QUARANTINE.value)
    assert value(metrics, "consentguard_posts_judged_total", verdict="delete") == 2.0
    assert value(metrics, "consentguard_posts_judged_total", verdict="quarantine") == 1.0
    assert value(metrics, "consentguard_posts_judged_total", verdict="allow") == 0.0


def test_a_label_outside_the_fixed_sets_is_counted_as_other_never_as_given() -> None:
    metrics = PrometheusMetrics(FakePending())
    metrics.post_judged("Mme Exemplaire escarre J3")  # a mistaken caller must not leak free text
    metrics.consent_error("timeout for token CG-1234")
    assert value(metrics, "consentguard_posts_judged_total", verdict="other") == 1.0
    assert value(metrics, "consentguard_consent_api_errors_total", kind="other") == 1.0
    body, _ = metrics.render()
    assert b"Exemplaire" not in body
    assert b"CG-1234" not in body


def test_detection_latency_is_a_histogram_with_buckets_from_50_ms_to_30_s() -> None:
    metrics = PrometheusMetrics(FakePending())
    metrics.detection_seconds(0.2)
    metrics.detection_seconds(4.0)
    metrics.detection_seconds(45.0)
    assert value(metrics, "consentguard_detection_seconds_count") == 3.0
    assert value(metrics, "consentguard_detection_seconds_sum") == pytest.approx(49.2)
    assert value(metrics, "consentguard_detection_seconds_bucket", le="0.05") == 0.0
    assert value(metrics, "consentguard_detection_seconds_bucket", le="0.25") == 1.0
    assert value(metrics, "consentguard_detection_seconds_bucket", le="5.0") == 2.0
    assert value(metrics, "consentguard_detection_seconds_bucket", le="30.0") == 2.0
    assert value(metrics, "consentguard_detection_seconds_bucket", le="+Inf") == 3.0


def test_consent_api_errors_are_counted_by_kind_and_every_kind_starts_at_zero() -> None:
    metrics = PrometheusMetrics(FakePending())
    for kind in ConsentErrorKind:
        assert value(metrics, "consentguard_consent_api_errors_total", kind=kind.value) == 0.0
    metrics.consent_error(ConsentErrorKind.UNAVAILABLE)
    metrics.consent_error("rate-limited")
    metrics.consent_error("rate-limited")
    assert value(metrics, "consentguard_consent_api_errors_total", kind="unavailable") == 1.0
    assert value(metrics, "consentguard_consent_api_errors_total", kind="rate-limited") == 2.0
    assert value(metrics, "consentguard_consent_api_errors_total", kind="bad-response") == 0.0


def test_the_queue_depth_is_read_at_scrape_time() -> None:
    pending = FakePending(3)
    metrics = PrometheusMetrics(pending)
    assert value(metrics, "consentguard_quarantine_pending") == 3.0
    pending.count = 1
    assert value(metrics, "consentguard_quarantine_pending") == 1.0


def test_posts_in_flight_are_exported_only_once_tracked() -> None:
    metrics = PrometheusMetrics(FakePending())
    assert value(metrics, "consentguard_posts_in_flight") is None
    in_flight = [2]
    metrics.track_in_flight(lambda: in_flight[0])
    assert value(metrics, "consentguard_posts_in_flight") == 2.0
    in_flight[0] = 0
    assert value(metrics, "consentguard_posts_in_flight") == 0.0


def test_an_unreadable_quarantine_leaves_the_depth_out_not_the_whole_scrape() -> None:
    pending = FakePending(3)
    pending.broken = True
    metrics = PrometheusMetrics(pending)
    metrics.post_judged("allow")
    body, _ = metrics.render()
    assert b"consentguard_quarantine_pending " not in body
    assert b'consentguard_posts_judged_total{verdict="allow"} 1.0' in body


def test_render_gives_the_text_exposition_with_every_family() -> None:
    metrics = PrometheusMetrics(FakePending(2))
    metrics.post_judged("quarantine")
    metrics.detection_seconds(0.5)
    metrics.consent_error("bad-response")
    body, content_type = metrics.render()
    assert content_type == CONTENT_TYPE_LATEST
    text = body.decode()
    assert "# TYPE consentguard_posts_judged_total counter" in text
    assert "# TYPE consentguard_detection_seconds histogram" in text
    assert "# TYPE consentguard_consent_api_errors_total counter" in text
    assert "# TYPE consentguard_quarantine_pending gauge" in text
    assert "consentguard_quarantine_pending 2.0" in text


def test_each_instance_has_its_own_registry_not_the_global_one() -> None:
    first, second = PrometheusMetrics(FakePending()), PrometheusMetrics(FakePending())
    first.post_judged("delete")
    assert value(second, "consentguard_posts_judged_total", verdict="delete") == 0.0
    from prometheus_client import REGISTRY

    assert REGISTRY.get_sample_value("consentguard_posts_judged_total", {"verdict": "delete"}) is None
