"""The process-pool scanner with the real detectors in a spawned worker."""

import pytest

from bot.bootstrap import engine_factory
from bot.scanning import InlineScanner, ProcessPoolScanner
from detectors.engine import ScanEngine
from tests.fakes.settings import make_settings
from tests.imagegen import astronaut_bytes, truncated_jpeg


async def test_worker_process_scans_and_reports_errors_without_raising() -> None:
    scanner = ProcessPoolScanner(engine_factory(make_settings()), workers=1, budget_s=120)
    try:
        await scanner.warm_up()
        face = await scanner.scan(astronaut_bytes(), "portrait.jpg")
        assert face.identifying
        assert "face" in face.kinds
        broken = await scanner.scan(truncated_jpeg(), "broken.jpg")
        assert broken.error_type == "CorruptImageError"
    finally:
        await scanner.aclose()


async def test_budget_overrun_is_a_failed_scan_and_the_pool_recovers() -> None:
    scanner = ProcessPoolScanner(engine_factory(make_settings()), workers=1, budget_s=0.001)
    try:
        report = await scanner.scan(astronaut_bytes(), "portrait.jpg")
        assert report.error_type == "ScanTimeout"
        assert report.identifying  # fail closed
    finally:
        await scanner.aclose()


class SlowEngine(ScanEngine):
    def scan(self, data: bytes, *, name_hint: str = "", exhaustive: bool = False):  # type: ignore[no-untyped-def]
        import time

        time.sleep(0.5)
        return super().scan(data, name_hint=name_hint, exhaustive=exhaustive)


@pytest.mark.parametrize("budget", [0.05])
async def test_inline_scanner_budget(budget: float) -> None:
    report = await InlineScanner(SlowEngine([]), budget_s=budget).scan(b"", "x")
    assert report.error_type == "ScanTimeout"


def test_workers_receive_the_detection_settings_only_never_a_secret() -> None:
    import pickle

    from tests.fakes.settings import make_settings

    settings = make_settings(telegram={"token": "123:TOPSECRET"}, consent={"api_key": "KEY-TOPSECRET"})
    shipped = pickle.dumps(engine_factory(settings))  # what the pool sends to every worker process
    assert b"TOPSECRET" not in shipped
    assert b"telegram" not in shipped
    assert b"ocr_threads" in shipped
