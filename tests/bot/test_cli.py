import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.imagegen import astronaut_bytes, encode, text_image, truncated_jpeg, wound_like_image

SAMPLES = Path(__file__).resolve().parents[2] / "bot" / "sandbox" / "samples"


def test_scan_json_prints_one_documented_object_per_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "face.jpg").write_bytes(astronaut_bytes())
    (tmp_path / "wound.jpg").write_bytes(encode(wound_like_image(), "JPEG"))
    (tmp_path / "broken.jpg").write_bytes(truncated_jpeg())
    code = main(["scan", str(tmp_path), "--json"])
    records = {Path(r["file"]).name: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert code == 1  # one file could not be scanned
    assert records["face.jpg"]["identifying"] is True
    assert records["face.jpg"]["faces"] == 1
    assert records["wound.jpg"]["identifying"] is False
    assert records["broken.jpg"]["identifying"] is True
    assert records["broken.jpg"]["error_type"] == "CorruptImageError"
    for record in records.values():
        assert {
            "file",
            "identifying",
            "faces",
            "identifiers",
            "barcodes",
            "exif_gps",
            "dicom_phi",
            "error",
        } <= set(record)
        assert set(record["timings_ms"]) >= {"decode"}


def test_scan_never_prints_the_text_it_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = text_image(["DUPONT Marie", "Née le 12/03/1954", "IPP 004182771"])
    (tmp_path / "label.png").write_bytes(encode(image, "PNG"))
    main(["scan", str(tmp_path / "label.png"), "--json"])
    main(["scan", str(tmp_path / "label.png")])
    out = capsys.readouterr()
    record = json.loads(out.out.splitlines()[0])
    assert record["identifying"] is True
    assert "person_name" in record["identifiers"]
    for secret in ("DUPONT", "Marie", "1954", "004182771"):
        assert secret not in out.out
        assert secret not in out.err


def test_scan_of_a_missing_file_reports_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", str(tmp_path / "nope.jpg"), "--json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 2
    assert record["identifying"] is True
    assert record["error_type"] == "OSError"


def test_samples_give_the_verdicts_the_readme_promises(capsys: pytest.CaptureFixture[str]) -> None:
    main(["scan", str(SAMPLES), "--json"])
    records = {Path(r["file"]).name: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert records["portrait.jpg"]["faces"] == 1
    assert records["wristband.png"]["barcodes"] >= 1
    assert "person_name" in records["wristband.png"]["identifiers"]
    assert records["landscape-gps.jpg"]["exif_gps"] is True
    assert records["ct-with-patient-tags.dcm"]["dicom_phi"] is True
    assert records["wound-with-ruler.jpg"]["identifying"] is False
    assert records["slide-figure.png"]["identifying"] is False
    assert records["slide-figure.png"]["plain_text"] is True
    assert records["truncated.jpg"]["error_type"] == "CorruptImageError"


def test_bench_prints_recall_and_latency(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "face.jpg").write_bytes(astronaut_bytes())
    (tmp_path / "wound.jpg").write_bytes(encode(wound_like_image(), "JPEG"))
    labels = [
        {"file": "face.jpg", "faces": 1, "category": "A"},
        {"file": "wound.jpg", "faces": 0, "category": "B"},
    ]
    (tmp_path / "labels.jsonl").write_text("\n".join(json.dumps(row) for row in labels) + "\n")
    assert main(["bench", str(tmp_path), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["labels"]["faces"]["recall"] == 1.0
    assert figures["labels"]["faces"]["false_positive_rate"] == 0.0
    assert figures["identifying"]["recall"] == 1.0
    assert figures["category_b_false_alarm_rate"] == 0.0
    assert figures["latency_verdict"]["median_ms"] > 0
    assert figures["peak_rss_mb"] > 0


def test_bench_without_labels_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", str(tmp_path)]) == 2
    assert "labels.jsonl" in capsys.readouterr().err
