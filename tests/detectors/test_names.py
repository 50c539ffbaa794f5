"""Tests for detectors.names and the unlabelled-name rules of classify_lines.

Every line is invented for this file (names made up from common given names and surnames of many
origins, layouts imitated from bed signs, wristbands and device headers); nothing is read from disk.
"""

from __future__ import annotations

import pytest

from detectors.base import FindingKind
from detectors.identifiers import TextLine, classify_lines
from detectors.names import CLINICAL_WORDS, GIVEN_NAMES, find_name, fragment_shape, is_clinical_word

K = FindingKind


def _names(*texts: str) -> set[int]:
    matches = classify_lines([TextLine(text, 0.95) for text in texts])
    return {m.line_index for m in matches if m.kind is K.PERSON_NAME}


def _kinds(*texts: str) -> set[tuple[int, FindingKind]]:
    return {(m.line_index, m.kind) for m in classify_lines([TextLine(text, 0.95) for text in texts])}


# --------------------------------------------------------------------------------------------------
# One line: a name without any field label
# --------------------------------------------------------------------------------------------------

# (origin, layout, line)
ONE_LINE = [
    ("vietnamese", "wristband", "TRAN Thi Bich   03/11/1948   F"),
    ("vietnamese", "monitor", "PHAM, Van Duc   M   79 ans   6120457"),
    ("polish", "monitor", "WISNIEWSKA, Bozena  F  66 ans  7730812"),
    ("polish", "bed sign", "Ch. 118 - Lit A  KACZMAREK Zbigniew"),
    ("senegalese", "wristband", "N'DIAYE Aissatou 14.02.1957 F"),
    ("senegalese", "initials", "N'DIAYE A.  Ch. 305"),
    ("malian", "pacs", "KEITA SEYDOU  M  1961-06-30  5540213"),
    ("moroccan", "bed sign", "EL OUAZZANI Khadija  Lit 12"),
    ("algerian", "monitor", "BOUZIANE, Rachida   F   81a"),
    ("algerian particle", "wristband", "AIT OUMEZIANE Lounes 02/05/1939 H"),
    ("mauritanian particle", "pacs", "OULD SIDI Mokhtar  M  74 y"),
    ("tunisian particle", "wristband", "BEN AMOR Sihem  F  12/12/1970"),
    ("turkish", "wristband", "YILDIRIM Hatice  F  1952-04-18"),
    ("turkish", "monitor", "KARAKAYA, Huseyin   M   67 ans"),
    ("portuguese", "bed sign", "DOS SANTOS Conceicao  Ch. 207"),
    ("portuguese", "wristband", "Goncalo FERREIRA DA COSTA  M  8801452"),
    ("italian", "apostrophe", "D'AMBROSIO Carla  F  74 ans"),
    ("italian", "pacs", "ESPOSITO GIUSEPPINA  F  07/09/1944"),
    ("german particle", "monitor", "VON HAGEN, Ulrike  F  58 y"),
    ("dutch particle", "wristband", "van der VELDE Sanne  F  1990-01-22"),
    ("breton", "bed sign", "LE FLOCH Gwenaelle  Lit B"),
    ("breton", "initials", "J.-Y. KERMARREC  Ch. 12"),
    ("armenian", "wristband", "PAPAZIAN Anahit  F  23/08/1936"),
    ("armenian", "monitor", "TER-PETROSSIAN, Hovhannes  M  88a"),
    ("arabic al- prefix", "pacs", "AL-RASHIDI Faisal  M  1975-10-03"),
    ("chinese", "monitor", "ZHANG, Xiuying   F   72 ans   4418206"),
    ("chinese", "wristband", "WANG Jianguo  M  05.03.1950"),
    ("spanish", "wristband", "GUTIERREZ LOPEZ Maria del Carmen  F  1962-11-09"),
    ("greek", "monitor", "PAPADOPOULOU, Eleni  F  63 ans"),
    ("russian", "bed sign", "KUZNETSOVA Lyudmila  Ch. 409 Lit A"),
    ("romanian", "wristband", "POPESCU Ionel  H  16/04/1958"),
    ("malagasy", "wristband", "RAKOTONDRABE Haingo  F  21.07.1983"),
    ("malagasy", "monitor", "RANDRIAMANANA, Hery   M   46 ans"),
    ("ukrainian", "pacs", "SHEVCHENKO OLENA  F  1979-02-14"),
    ("irish apostrophe", "wristband", "O'SULLIVAN Siobhan  F  09/09/1951"),
    ("french", "wristband", "LEMAIRE Bernadette 25/12/1941 (82 ans)"),
    ("french hyphen", "monitor", "FONTAINE-DUVAL, Marie-Helene  F  55 ans"),
    ("french initials", "pacs", "MARTIN J.P.  M  1947-08-08"),
    ("korean", "wristband", "KIM Soo-jin  F  11/03/1988"),
    ("nigerian", "monitor", "OKONKWO, Chidinma   F   34 y   9012876"),
    ("cameroonian", "bed sign", "MBARGA Ngono  Ch. 22 - Lit B"),
    ("comorian", "wristband", "SAID ALI Mariata  F  1968-05-05"),
]


@pytest.mark.parametrize("line", [case[2] for case in ONE_LINE], ids=[f"{c[0]}-{c[1]}" for c in ONE_LINE])
def test_an_unlabelled_name_beside_patient_cues_is_found(line: str) -> None:
    assert _names(line) == {0}


def test_the_positive_lines_cover_many_origins_and_layouts() -> None:
    origins = {case[0].split()[0] for case in ONE_LINE}
    layouts = {case[1] for case in ONE_LINE}
    assert len(origins) >= 15
    assert {"wristband", "monitor", "pacs", "bed sign", "initials"} <= layouts


@pytest.mark.parametrize(
    "line",
    [
        "KOWALCZYK, Agnieszka",  # comma form on its own
        "NAKAMURA, Keiko",
        "BENALI, M.",
        "J.-P. MORVAN",  # initials and a surname in capitals
        "DIALLO Mamadou",  # given name from the lexicon beside capitals
        "Fatoumata KONATE",
        "Mme Nguyen Thi HOA",  # title
        "Mr Tiago PEREIRA",
    ],
)
def test_strong_shapes_need_no_cue(line: str) -> None:
    assert _names(line) == {0}


@pytest.mark.parametrize(
    "line",
    [
        "DUP0NT Mar1e 12/03/1953 F",  # 0/O and 1/I swaps
        "LEGRANDSuzanne 04/04/1940",  # missing space
        "NGUYEN,Thi Lan  F  80ans",  # missing spaces
        "BRUNEL Therese 1l/02/1938 (86a)",  # l read for 1 inside the date
        "dupont marie 12/03/1953",  # lower-case drift with a lexicon given name
        "BERGER Leonie  F  73 ans",  # accents lost
        "Bérénice FAURÉ  F  67 ans",  # accents kept
    ],
)
def test_ocr_noise_does_not_hide_a_name(line: str) -> None:
    assert 0 in _names(line)


# --------------------------------------------------------------------------------------------------
# Several lines: signs and wristbands read as fragments
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(["HADDAD Samir", "15/06/1949  M"], {0}, id="wristband-two-lines"),
        pytest.param(["Ch. 214 - Lit B", "RAKOTOARISOA", "Fanja"], {1, 2}, id="bed-sign-split"),
        pytest.param(["MANSOURI", "Youssef", "né le 03/03/1944"], {0, 1}, id="surname-given-birth"),
        pytest.param(["WOJCIK Dorota", "F  71 ans  IPP 5521843"], {0}, id="name-above-cues"),
        pytest.param(["Lit 4", "ABDELLAOUI Nadia"], {1}, id="bed-above-name"),
    ],
)
def test_a_name_is_found_from_cues_on_a_neighbouring_line(lines: list[str], expected: set[int]) -> None:
    assert _names(*lines) == expected


def test_a_monitor_header_yields_name_age_and_record_number() -> None:
    found = _kinds("LAMBERT, Odile   F   71 ans   5521043")
    assert (0, K.PERSON_NAME) in found
    assert (0, K.RECORD_NUMBER) in found


def test_a_wristband_birth_date_counts_once_a_name_is_found() -> None:
    found = _kinds("OZTURK Emine", "12.03.1953", "F")
    assert {(0, K.PERSON_NAME), (1, K.BIRTH_DATE)} <= found


def test_a_birth_date_beside_an_age_in_short_forms() -> None:
    for age in ("(71 ans)", "71 y", "71a", "(71 yo)"):
        assert (0, K.BIRTH_DATE) in _kinds(f"02/02/1953 {age}")


# --------------------------------------------------------------------------------------------------
# Harmless lines of the same look stay plain text
# --------------------------------------------------------------------------------------------------

HARMLESS = [
    # Drug labels and doses
    "AMOXICILLINE 1 g",
    "Paracétamol 500 mg",
    "DOLIPRANE 1000 mg  comprimés",
    "VANCOMYCINE 500 mg  IV",
    "HEPARINE SODIQUE 5000 UI/mL",
    "Insuline LANTUS 100 UI/mL",
    "NaCl 0,9 %  500 mL",
    "KCl 10 %  10 mL",
    "CEFTRIAXONE 2 g  IVL 30 min",
    "TAZOCILLINE 4 g x 3/j",
    "Lovenox 4000 UI  SC",
    # Lots and expiry dates
    "LOT 23B114 EXP 2027-05",
    "Lot : K4471 - Exp : 11/2026",
    "REF 4521-33  STERILE  LOT 889120",
    "EXP 2026-09  LOT A7731",
    # Devices, screens and protocol headers
    "Pousse-seringue Alaris GH",
    "Philips IntelliVue MX450",
    "GE LOGIQ E9  12/03/2024 10:14:55",
    "Protocole HEPARINE  12/03/2024",
    "TDM THORAX  12/03/2024",
    "ECHO Cardiaque  03/04/2024",
    "MONITORAGE CONTINU  FC 72 bpm",
    "SpO2 98 %  FC 76  PNI 128/74",
    "Respirateur Evita V500  Mode VAC",
    # Anatomy
    "ARTERE FEMORALE DROITE",
    "Genou gauche  face / profil",
    "Main droite - Poignet",
    # Scales and scores
    "Glasgow 15  EVA 3/10",
    "Score de Glasgow 14",
    "NYHA III",
    "Braden 14  Norton 12",
    "EVA 6/10 à 14:00",
    # Wards and signs
    "Ch. 214 – Lit B",
    "CHAMBRE 214  LIT B",
    "SERVICE CARDIOLOGIE",
    "BLOC OPERATOIRE  Salle 3",
    "SORTIE DE SECOURS",
    "ATTENTION ALLERGIE",
    "ENTRÉE INTERDITE",
    "ISOLEMENT CONTACT",
    "Urgences Pédiatriques  Box 4",
    "Hospitalisation Complète  Lit 3",
    # Microbiology, forms, prose
    "E. COLI  10^5 UFC/mL",
    "S. AUREUS  sensible",
    "Compte Rendu  12/03/2024",
    "Congrès de la SFAR, 14-16 mai 2025",
    "The patient is 71 years old and was admitted on 12/03/2024.",
    "Le patient de 71 ans est sorti le 12/03/2024.",
]


@pytest.mark.parametrize("line", HARMLESS)
def test_harmless_clinical_text_holds_no_name(line: str) -> None:
    assert _names(line) == set()


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(["AMOXICILLINE", "1 g", "LOT 23B114"], id="drug-box-split"),
        pytest.param(["Ch. 214", "Lit B", "SORTIE"], id="ward-sign-split"),
        pytest.param(["BLOC", "OPERATOIRE", "12/03/2024"], id="heading-split"),
        pytest.param(["PHILIPS", "EPIQ", "03/05/2024 11:02:33"], id="device-split"),
    ],
)
def test_harmless_fragments_on_neighbouring_lines_hold_no_name(lines: list[str]) -> None:
    assert _names(*lines) == set()


def test_a_lot_number_is_not_a_record_number_without_a_name() -> None:
    assert K.RECORD_NUMBER not in {kind for _, kind in _kinds("Lot 4471208", "EXP 2026-05")}


# --------------------------------------------------------------------------------------------------
# The module's own pieces
# --------------------------------------------------------------------------------------------------


def test_the_lexicons_are_loaded_folded_and_do_not_overlap_on_core_words() -> None:
    assert len(GIVEN_NAMES) > 1500
    assert len(CLINICAL_WORDS) > 1000
    assert all(word == word.lower() for word in GIVEN_NAMES)
    assert {"aissatou", "hovhannes", "xiuying", "zbigniew", "haingo"} <= GIVEN_NAMES
    assert {"eva", "iris", "max", "alpha", "mai"}.isdisjoint(GIVEN_NAMES)


@pytest.mark.parametrize(
    ("word", "clinical"),
    [
        ("AMOXICILLINE", True),
        ("Ciprofloxacine", True),  # listed
        ("LEVOFLOXACINE", True),  # listed
        ("Ertapenem", True),
        ("BISOPROLOL", True),
        ("Candesartan", True),  # not listed: INN stem -sartan
        ("Dalteparine", True),  # not listed: INN stem -parine
        ("CARDIOLOGIE", True),
        ("Monique", False),  # -ique, but a given name
        ("KOWALSKI", False),
        ("N'Diaye", False),
    ],
)
def test_clinical_words_include_inn_stems_but_not_names(word: str, clinical: bool) -> None:
    assert is_clinical_word(word) is clinical


def test_find_name_needs_a_cue_for_capitals_that_are_not_in_any_lexicon() -> None:
    line = "KOWALCZYK Brzozowska"
    folded = line.lower()
    assert find_name(line, folded, date_on_line=False, near_cue=False) is None
    hit = find_name(line, folded, date_on_line=True, near_cue=False)
    assert hit is not None
    assert hit.rule == "name-context"
    near = find_name(line, folded, date_on_line=False, near_cue=True)
    assert near is not None
    assert near.strength < hit.strength


def test_fragment_shape_tells_surnames_from_given_names() -> None:
    assert fragment_shape("RAKOTOARISOA") == "upper"
    assert fragment_shape("Fanja") == "given"
    assert fragment_shape("Pastorelli") == "cap"
    assert fragment_shape("SORTIE") == ""
    assert fragment_shape("DUPONT Marie") == ""


def test_rule_names_carry_no_text() -> None:
    lines = [case[2] for case in ONE_LINE]
    for match in classify_lines([TextLine(text, 0.9) for text in lines]):
        assert match.rule.replace("-", "").isalpha()
        assert match.rule.islower()


# --------------------------------------------------------------------------------------------------
# Headers read out of order, carets lost, notices and sentences
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # The caret of SURNAME^GIVEN lost by OCR, and the space with it.
        pytest.param(["KOWALCZYKAGNIESZKA", "PID 40917735"], {0}, id="caret-lost-given-last"),
        pytest.param(["EMEKAOKONKWO", "F 064Y"], {0}, id="caret-lost-given-first"),
        # The name read far from the birth date and the ID (another column of the header).
        pytest.param(
            ["OKAFOR CHUKWUDI", "CT THORAX", "Se: 2  Im: 14", "ID 55102934", "Né(e): 11/02/1950"],
            {0},
            id="pacs-name-far-from-its-cues",
        ),
        # A title-case name inside a whiteboard sentence with a room on the line.
        pytest.param(["Rm 6 : Trần Minh Khoa back home today"], {0}, id="whiteboard-room-sentence"),
        # A short surname in capitals beside a bed label on the next line.
        pytest.param(["Lit 12", "Awa SY", "Né(e) le 02/05/1961"], {1}, id="short-surname-bed-near"),
        # Ş read as "$" by OCR.
        pytest.param(["$AHIN Elif  03/09/1971  F"], {0}, id="dollar-for-s-cedilla"),
        # "Sơn" folds to the French word "son", but a Vietnamese letter is no French word.
        pytest.param(["Chambre 31", "Minh Sơn PHẠM", "Né(e) le 13/10/1953"], {1}, id="vietnamese-letters"),
    ],
)
def test_names_in_headers_and_whiteboards(lines: list[str], expected: set[int]) -> None:
    assert _names(*lines) == expected


def test_a_birth_date_after_the_form_label_ne_e() -> None:
    assert (0, K.BIRTH_DATE) in _kinds("Né(e): 1947-11-03")
    assert (0, K.BIRTH_DATE) in _kinds("née le 3 mars 1947")


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(["Chambre 12", "RISQUE DE CHUTE"], id="falls-notice-fr"),
        pytest.param(["Bed 7", "NIL BY MOUTH"], id="fasting-notice-en"),
        pytest.param(["Bay 2 Bed 4", "FALLS RISK", "Hoist x2"], id="falls-notice-en"),
        pytest.param(["Lit 3", "ISOLEMENT CONTACT", "Port de gants"], id="isolation-notice"),
        pytest.param(["Paul M. Renard contributed to this chapter"], id="author-in-a-sentence"),
        pytest.param(["Lit 5 ADULTE Alarmes : ON", "FC 72", "SpO2 97 %"], id="monitor-mode-line"),
        pytest.param(["Né(e): 11/02/1950", "CT THORAX", "SOINS INTENSIFS"], id="headings-by-a-birth-date"),
    ],
)
def test_notices_and_headings_are_not_names(lines: list[str]) -> None:
    assert _names(*lines) == set()
