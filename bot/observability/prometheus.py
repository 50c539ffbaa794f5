"""PrometheusMetrics: the Metrics port over prometheus_client, and the text the console serves at /metrics.

Each instance owns its :class:`~prometheus_client.CollectorRegistry`, never the library's global one: two
cores in one process (tests, the demo) never mix their figures, and nothing registers itself at import time.

Exposed metric families (labels come from fixed sets only: no patient, caption, token, user or chat):

- ``consentguard_posts_judged_total{verdict}``: posts judged and acted on, by verdict.
- ``consentguard_detection_seconds``: one observation per post's detection stage (histogram).
- ``consentguard_consent_api_errors_total{kind}``: consent API failures seen by the pipeline, by kind.
- ``consentguard_quarantine_pending``: items awaiting a moderator, counted at scrape time.
- ``consentguard_posts_in_flight``: posts accepted by this process and not finished (only when tracked).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from bot.core.metrics import ConsentErrorKind
from bot.domain import Verdict

log = logging.getLogger(__name__)

#: Detection runs from a few tens of milliseconds (one small photo, warm workers) to the scan budget (a long
#: video or PDF, or a queue behind a burst): finer at the low end, where the usual post falls.
DETECTION_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0)
#: The label of any value outside the fixed sets: a new verdict or kind is still counted, and a mistaken
#: caller can never put free text (possibly patient data) into a label.
OTHER = "other"
_VERDICTS = frozenset(v.value for v in Verdict)
_KINDS = frozenset(k.value for k in ConsentErrorKind)


class PendingCount(Protocol):
    """How many quarantine items await a moderator (bot.storage.quarantine.QuarantineStore)."""

    def count_pending(self) -> int:
        """The number of pending items, everywhere; decrypts nothing."""
        ...


class PrometheusMetrics:
    """The Metrics port as Prometheus counters and histogram, plus the queue depth read at scrape time.

    One per process, built in bot/bootstrap.py and handed to the pipeline and to the console's /metrics.
    """

    def __init__(self, quarantine: PendingCount) -> None:
        self.registry = CollectorRegistry()
        self._posts = Counter(
            "consentguard_posts_judged",
            "Posts judged and acted on, by verdict.",
            ["verdict"],
            registry=self.registry,
        )
        self._detection = Histogram(
            "consentguard_detection_seconds",
            "Duration of one post's detection stage (all its images; waiting for a scan slot included).",
            buckets=DETECTION_BUCKETS_S,
            registry=self.registry,
        )
        self._consent_errors = Counter(
            "consentguard_consent_api_errors",
            "Consent API lookups or use records that got no trustworthy answer, by kind.",
            ["kind"],
            registry=self.registry,
        )
        # Every series exists from the start at 0, so that rate() and alerts see the first increment.
        for verdict in sorted(_VERDICTS):
            self._posts.labels(verdict=verdict)
        for kind in sorted(_KINDS):
            self._consent_errors.labels(kind=kind)
        self._queue = _QueueCollector(quarantine)
        self.registry.register(self._queue)

    # -- the Metrics port -------------------------------------------------------------------------------

    def post_judged(self, verdict: str) -> None:
        """Count one post judged with ``verdict``."""
        self._posts.labels(verdict=verdict if verdict in _VERDICTS else OTHER).inc()

    def detection_seconds(self, seconds: float) -> None:
        """Observe one post's detection stage duration."""
        self._detection.observe(max(0.0, seconds))

    def consent_error(self, kind: str) -> None:
        """Count one consent API error of ``kind``."""
        self._consent_errors.labels(kind=kind if kind in _KINDS else OTHER).inc()

    # -- exposure ---------------------------------------------------------------------------------------

    def track_in_flight(self, source: Callable[[], int]) -> None:
        """Also export ``source()`` as the posts in flight (the running pipeline's ``in_flight``)."""
        self._queue.in_flight = source

    def track_scan_jobs(self, source: Callable[[], int]) -> None:
        """Also export ``source()`` as the scan jobs waiting for a worker's result (the scan queue)."""
        self._queue.scan_jobs = source

    def render(self) -> tuple[bytes, str]:
        """The text exposition format of every metric, and its content type (blocking: the queue count)."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _QueueCollector:
    """Queue depths computed when Prometheus scrapes (nothing to keep up to date between scrapes)."""

    def __init__(self, quarantine: PendingCount) -> None:
        self.quarantine = quarantine
        self.in_flight: Callable[[], int] | None = None
        self.scan_jobs: Callable[[], int] | None = None

    def describe(self) -> Iterable[Metric]:
        """The families this collector yields (the registry checks their names against the others')."""
        return [_pending_family(), _in_flight_family(), _scan_jobs_family()]

    def collect(self) -> Iterable[Metric]:
        """The current queue depths; a count that cannot be read is left out, not the whole scrape."""
        try:
            pending = self.quarantine.count_pending()
        except Exception as exc:  # the database is unreachable: the other metrics are still worth serving
            log.warning("metrics: the quarantine could not be counted (%s)", type(exc).__name__)
        else:
            family = _pending_family()
            family.add_metric([], pending)
            yield family
        if self.in_flight is not None:
            family = _in_flight_family()
            family.add_metric([], self.in_flight())
            yield family
        if self.scan_jobs is not None:
            family = _scan_jobs_family()
            family.add_metric([], self.scan_jobs())
            yield family


def _pending_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "consentguard_quarantine_pending", "Quarantined items awaiting a moderator's decision (all groups)."
    )


def _scan_jobs_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "consentguard_scan_jobs_waiting",
        "Scan jobs this front end has enqueued and waits on (detection workers apart; rising: add workers).",
    )


def _in_flight_family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "consentguard_posts_in_flight", "Posts accepted by this process and not finished yet."
    )
