"""OCR on rendered text: the real RapidOCR models, golden positives and negatives."""

from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from detectors.base import FindingKind, Frame
from detectors.text import RapidOcrTextDetector
from tests.imagegen import text_image, wound_like_image


def nir_with_key(body: str) -> str:
    return f"{body}{97 - int(body) % 97:02d}"


VALID_NIR = nir_with_key("2850375123456")  # invented: woman, born March 1985, Paris
INVALID_NIR = VALID_NIR[:-2] + f"{(int(VALID_NIR[-2:]) + 1) % 97:02d}"


@pytest.fixture(scope="module")
def ocr() -> Iterator[RapidOcrTextDetector]:
    detector = RapidOcrTextDetector()
    yield detector
    detector.close()


def _kinds(ocr: RapidOcrTextDetector, lines: list[str]) -> set[FindingKind]:
    frame = Frame(np.asarray(text_image(lines), dtype=np.uint8))
    return {f.kind for f in ocr.detect(frame)}


def _spaced(nir: str) -> str:
    return f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            ["DUPONT Marie", "Née le 12/03/1954"],
            {FindingKind.PERSON_NAME, FindingKind.BIRTH_DATE},
            id="banner",
        ),
        pytest.param(
            ["Nom : LEFÈVRE", "Prénom : Hélène"], {FindingKind.PERSON_NAME}, id="nom-prenom-accents"
        ),
        pytest.param(["Mme Françoise Bérenger"], {FindingKind.PERSON_NAME}, id="civil-title"),
        pytest.param(["Date de naissance : 3 février 1948"], {FindingKind.BIRTH_DATE}, id="month-name"),
        pytest.param(["IPP : 004182771", "Séjour n° 22-0419"], {FindingKind.RECORD_NUMBER}, id="ipp"),
        pytest.param([f"N° SS {_spaced(VALID_NIR)}"], {FindingKind.NIR}, id="nir-spaced"),
        pytest.param([f"NIR {VALID_NIR}"], {FindingKind.NIR}, id="nir-compact"),
        pytest.param(["Tél. 06 12 34 56 78"], {FindingKind.PHONE}, id="phone"),
        pytest.param(["contact: marie.dupont@example.fr"], {FindingKind.EMAIL}, id="email"),
        pytest.param(["12 rue des Lilas", "75013 PARIS"], {FindingKind.POSTAL_ADDRESS}, id="address"),
        pytest.param(
            ["P<FRADUPONT<<MARIE<<<<<<<<<<<<<<<<<<<<<<<<<", "12AB345678FRA8503129F3001012<<<<<<<<<<<<<<02"],
            {FindingKind.MRZ},
            id="mrz",
        ),
    ],
)
def test_identifying_text_is_classified(
    ocr: RapidOcrTextDetector, lines: list[str], expected: set[FindingKind]
) -> None:
    found = _kinds(ocr, lines)
    assert expected <= found, found


def test_nir_with_a_wrong_key_is_not_a_nir(ocr: RapidOcrTextDetector) -> None:
    assert FindingKind.NIR not in _kinds(ocr, [f"NIR {INVALID_NIR}"])


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(["Figure 2 – Coupe axiale", "0 1 2 3 4 5 cm"], id="figure-ruler"),
        pytest.param(["Cas clinique n°3", "Service de dermatologie"], id="slide-title"),
        pytest.param(["15/03/2012", "<00:05:02>", "CVP:1"], id="endoscopy-overlay"),
    ],
)
def test_text_that_identifies_nobody_is_plain_text(ocr: RapidOcrTextDetector, lines: list[str]) -> None:
    frame = Frame(np.asarray(text_image(lines), dtype=np.uint8))
    findings = ocr.detect(frame)
    assert [f.kind for f in findings] == [FindingKind.PLAIN_TEXT]
    assert not findings[0].identifying


def test_no_text_no_finding(ocr: RapidOcrTextDetector) -> None:
    assert ocr.detect(Frame(np.asarray(wound_like_image(), dtype=np.uint8))) == []


def test_findings_never_carry_the_text(ocr: RapidOcrTextDetector) -> None:
    frame = Frame(np.asarray(text_image(["DUPONT Marie", "IPP 004182771"]), dtype=np.uint8))
    for finding in ocr.detect(frame):
        assert "DUPONT" not in repr(finding)
        assert "004182771" not in repr(finding)


def test_small_photo_of_a_label_is_enlarged_before_reading(ocr: RapidOcrTextDetector) -> None:
    label = text_image(["DUPONT Marie", "Née le 12/03/1954"], size=40)
    small = label.resize((label.width // 3, label.height // 3), Image.Resampling.LANCZOS)
    found = {f.kind for f in ocr.detect(Frame(np.asarray(small, dtype=np.uint8)))}
    assert FindingKind.PERSON_NAME in found
