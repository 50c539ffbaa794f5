"""Tests for detectors.identifiers: every line is an invented literal; nothing is read from disk."""

from __future__ import annotations

import pytest

from detectors.base import FindingKind
from detectors.identifiers import IdentifierMatch, TextLine, classify_lines, nir_is_valid

K = FindingKind

KNOWN_RULES = {
    "address-label-above",
    "address-labelled",
    "address-postcode-city",
    "address-street-en",
    "address-street-fr",
    "birth-date-age",
    "birth-date-id-document",
    "birth-date-label-above",
    "birth-date-labelled",
    "email",
    "mrz-date-core",
    "mrz-doc-prefix",
    "mrz-filler",
    "name-comma",
    "name-context",
    "name-context-near",
    "name-first-last",
    "name-initials",
    "name-split-lines",
    "name-surname-cue",
    "name-dicom-caret",
    "name-first-upper",
    "name-label-above",
    "name-labelled",
    "name-title",
    "name-title-doctor",
    "name-upper-first",
    "name-upper-pair",
    "nir-labelled-no-key",
    "nir-valid-key",
    "facility-with-exam-time",
    "facility-with-patient",
    "name-labelled-cjk",
    "record-labelled-cjk",
    "birth-date-labelled-cjk",
    "phone-area-code",
    "phone-fr",
    "phone-intl",
    "phone-labelled",
    "phone-nanp",
    "record-beside-name",
    "record-label-above",
    "record-labelled",
}


def _nir_key(body: str) -> str:
    """Key of a 13-character NIR body, computed independently of the module (2A = 19, 2B = 18)."""
    number = int(body[:5] + body[5:7].replace("2A", "19").replace("2B", "18") + body[7:])
    return f"{97 - number % 97:02d}"


def _wrong_key(body: str) -> str:
    return f"{(int(_nir_key(body)) % 96) + 1:02d}"


# Invented NIRs: a woman born in March 1954 in Paris, a man born in December 1984 in the Nord, and a
# man born in Corsica (department 2A).
NIR_BODY = "2540375116042"
NIR_BODY_2 = "1841259350123"
NIR_BODY_CORSICA = "175032A004012"
NIR = NIR_BODY + _nir_key(NIR_BODY)
NIR_2 = NIR_BODY_2 + _nir_key(NIR_BODY_2)
NIR_CORSICA = NIR_BODY_CORSICA + _nir_key(NIR_BODY_CORSICA)
NIR_WRONG = NIR_BODY + _wrong_key(NIR_BODY)


def _spaced(nir: str) -> str:
    """The printed form of a card: 2 54 03 75 116 042 97."""
    return " ".join((nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]))


def _classify(*texts: str, confidence: float = 0.95) -> list[IdentifierMatch]:
    return classify_lines([TextLine(text, confidence) for text in texts])


def _kinds(*texts: str) -> set[FindingKind]:
    return {match.kind for match in _classify(*texts)}


def _found(*texts: str) -> set[tuple[int, FindingKind]]:
    return {(match.line_index, match.kind) for match in _classify(*texts)}


# --------------------------------------------------------------------------------------------------
# NIR key validation
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        NIR,
        NIR_2,
        NIR_CORSICA,
        _spaced(NIR),
        _spaced(NIR_2),
        NIR[:13] + " " + NIR[13:],
        ".".join((NIR[0], NIR[1:3], NIR[3:5], NIR[5:7], NIR[7:10], NIR[10:13], NIR[13:])),
        NIR_CORSICA.lower(),
    ],
)
def test_nir_is_valid_accepts_a_correct_key(text: str) -> None:
    assert nir_is_valid(text)


@pytest.mark.parametrize(
    "text",
    [
        NIR_WRONG,
        _spaced(NIR_WRONG),
        NIR_BODY_CORSICA + _wrong_key(NIR_BODY_CORSICA),
        NIR[:13],  # no key at all
        NIR + "0",  # one digit too many
        "9" + NIR[1:],  # no such sex digit
        NIR[:5] + "AB" + NIR[7:],  # letters outside the Corsican department
        "",
        "not a number",
    ],
)
def test_nir_is_valid_rejects_anything_else(text: str) -> None:
    assert not nir_is_valid(text)


def test_the_test_helpers_make_a_wrong_key_differ() -> None:
    assert _wrong_key(NIR_BODY) != _nir_key(NIR_BODY)


# --------------------------------------------------------------------------------------------------
# One line, one kind
# --------------------------------------------------------------------------------------------------

POSITIVES = [
    # Names
    ("DUPONT Marie", K.PERSON_NAME, "name-upper-first"),
    ("DUPONT Jean-Pierre", K.PERSON_NAME, "name-upper-first"),
    ("LE GALL Yann", K.PERSON_NAME, "name-upper-first"),
    ("Marie-Claire BERTRAND", K.PERSON_NAME, "name-first-upper"),
    ("LEFEBVRE NATHALIE", K.PERSON_NAME, "name-upper-pair"),
    ("Mme Sophie MOREAU", K.PERSON_NAME, "name-title"),
    ("M. GIRARD", K.PERSON_NAME, "name-title"),
    ("Monsieur Fournier", K.PERSON_NAME, "name-title"),
    ("MME ROUSSEAU", K.PERSON_NAME, "name-title"),
    ("Mrs. Thompson", K.PERSON_NAME, "name-title"),
    ("Dr Claire Moreau", K.PERSON_NAME, "name-title-doctor"),
    ("Pr. LAMBERT", K.PERSON_NAME, "name-title-doctor"),
    ("Nom : DUPONT", K.PERSON_NAME, "name-labelled"),
    ("NOM:GARNIER", K.PERSON_NAME, "name-labelled"),
    ("Nom de naissance : FAURE", K.PERSON_NAME, "name-labelled"),
    ("Nom d'usage : MERCIER", K.PERSON_NAME, "name-labelled"),
    ("Prénom : Élodie", K.PERSON_NAME, "name-labelled"),
    ("Patient : BLANC Lucie", K.PERSON_NAME, "name-labelled"),
    ("Patiente CHEVALIER", K.PERSON_NAME, "name-labelled"),
    ("Surname: SMITH", K.PERSON_NAME, "name-labelled"),
    ("Given names: Emily Rose", K.PERSON_NAME, "name-labelled"),
    ("Pt Name: GARCIA^ELENA", K.PERSON_NAME, "name-labelled"),
    ("ROBIN^CLAIRE^M", K.PERSON_NAME, "name-dicom-caret"),
    # Birth dates
    ("Né(e) le 12/03/1954", K.BIRTH_DATE, "birth-date-labelled"),
    ("née le 03.11.1948", K.BIRTH_DATE, "birth-date-labelled"),
    ("NE(E) LE 1er janvier 1950", K.BIRTH_DATE, "birth-date-labelled"),
    ("né le 12 mars 1954", K.BIRTH_DATE, "birth-date-labelled"),
    ("Date de naissance : 1954-03-12", K.BIRTH_DATE, "birth-date-labelled"),
    ("Date de naiss. 07-08-1961", K.BIRTH_DATE, "birth-date-labelled"),
    ("DDN: 12/03/54", K.BIRTH_DATE, "birth-date-labelled"),
    ("DOB 12 MAR 1954", K.BIRTH_DATE, "birth-date-labelled"),
    ("Date of birth: March 12, 1954", K.BIRTH_DATE, "birth-date-labelled"),
    ("Birth date 12031954", K.BIRTH_DATE, "birth-date-labelled"),
    ("Naissance : 2 févr. 1939", K.BIRTH_DATE, "birth-date-labelled"),
    ("Date et lieu de naissance : 04/09/1966 à Brest", K.BIRTH_DATE, "birth-date-labelled"),
    ("12/03/1954 (70 ans)", K.BIRTH_DATE, "birth-date-age"),
    # NIR
    (NIR, K.NIR, "nir-valid-key"),
    (_spaced(NIR), K.NIR, "nir-valid-key"),
    (f"N° SS : {_spaced(NIR_2)}", K.NIR, "nir-valid-key"),
    (NIR[:13] + " " + NIR[13:], K.NIR, "nir-valid-key"),
    (_spaced(NIR_CORSICA), K.NIR, "nir-valid-key"),
    (f"NIR : {_spaced(NIR)[:-3]}", K.NIR, "nir-labelled-no-key"),
    (f"Sécurité sociale {NIR_2[:13]}", K.NIR, "nir-labelled-no-key"),
    # Record numbers
    ("IPP : 8001234567", K.RECORD_NUMBER, "record-labelled"),
    ("IPP8001234567", K.RECORD_NUMBER, "record-labelled"),
    ("IPP: 80O1234567", K.RECORD_NUMBER, "record-labelled"),  # O read for 0
    ("N° dossier : 2024-001234", K.RECORD_NUMBER, "record-labelled"),
    ("NDA 2400123456", K.RECORD_NUMBER, "record-labelled"),
    ("N° séjour: 24123456", K.RECORD_NUMBER, "record-labelled"),
    ("MRN: A1234567", K.RECORD_NUMBER, "record-labelled"),
    ("Patient ID: 27KD4", K.RECORD_NUMBER, "record-labelled"),
    ("ID patient 0045123", K.RECORD_NUMBER, "record-labelled"),
    ("N° patient : 00451234", K.RECORD_NUMBER, "record-labelled"),
    ("Episode 10023456", K.RECORD_NUMBER, "record-labelled"),
    ("Matricule 123456", K.RECORD_NUMBER, "record-labelled"),
    ("ID: 31957206", K.RECORD_NUMBER, "record-labelled"),
    ("Pat. ID 0045123", K.RECORD_NUMBER, "record-labelled"),
    # MRZ
    ("P<FRADUPONT<<MARIE<CLAIRE<<<<<<<<<<<<<<<<<<<", K.MRZ, "mrz-filler"),
    ("12AB345678FRA5403125F3001012<<<<<<<<<<<<<<02", K.MRZ, "mrz-filler"),
    ("P<FRADUPONTKKMARIEKCLAIREKKKKKKKKKKKKKKKKKKK", K.MRZ, "mrz-filler"),  # '<' read as 'K'
    ("IDFRA123456789«««««««««««««««", K.MRZ, "mrz-filler"),  # '<<' read as '«'
    ("P<FRAMARTIN<<PAUL<LOUIS<<<", K.MRZ, "mrz-filler"),  # cut short
    ("I<FRAY7KQ2MZ81<<MOREL<<", K.MRZ, "mrz-doc-prefix"),
    ("AB12345674FRA5403125F3001012XY1234567Z00004", K.MRZ, "mrz-date-core"),  # no filler at all
    # Phones
    ("06 12 34 56 78", K.PHONE, "phone-fr"),
    ("Tél : 01.45.67.89.10", K.PHONE, "phone-fr"),
    ("O6 12 34 56 78", K.PHONE, "phone-fr"),
    ("0612345678", K.PHONE, "phone-fr"),
    ("+33 6 12 34 56 78", K.PHONE, "phone-fr"),
    ("+33 (0)1 45 67 89 10", K.PHONE, "phone-fr"),
    ("+44 20 7946 0958", K.PHONE, "phone-intl"),
    ("(555) 123-4567", K.PHONE, "phone-nanp"),
    ("555-123-4567", K.PHONE, "phone-nanp"),
    ("020-84561234", K.PHONE, "phone-area-code"),
    ("Portable : 06-12-345-678", K.PHONE, "phone-labelled"),
    # E-mails
    ("marie.dupont@chu-exemple.fr", K.EMAIL, "email"),
    ("Contact : secretariat.derm @ hopital-exemple.fr", K.EMAIL, "email"),
    # Postal addresses
    ("12 rue des Lilas", K.POSTAL_ADDRESS, "address-street-fr"),
    ("3 bis avenue Victor Hugo", K.POSTAL_ADDRESS, "address-street-fr"),
    ("12, boulevard Saint-Michel", K.POSTAL_ADDRESS, "address-street-fr"),
    ("14 RUE DE LA PAIX", K.POSTAL_ADDRESS, "address-street-fr"),
    ("7 chemin du Moulin", K.POSTAL_ADDRESS, "address-street-fr"),
    ("75013 PARIS", K.POSTAL_ADDRESS, "address-postcode-city"),
    ("13005 MARSEILLE CEDEX 05", K.POSTAL_ADDRESS, "address-postcode-city"),
    ("221B Baker Street", K.POSTAL_ADDRESS, "address-street-en"),
    ("1600 Pennsylvania Avenue", K.POSTAL_ADDRESS, "address-street-en"),
    ("Domicile : Lieu-dit Kerbras", K.POSTAL_ADDRESS, "address-labelled"),
]


@pytest.mark.parametrize(("text", "kind", "rule"), POSITIVES, ids=[p[0] for p in POSITIVES])
def test_a_single_line_is_classified(text: str, kind: FindingKind, rule: str) -> None:
    matches = [m for m in _classify(text) if m.kind is kind]
    assert [m.rule for m in matches] == [rule]
    assert matches[0].line_index == 0


# Lines that must stay plain text: overlays, measurements, headings, signs, slides and prose.
NEGATIVES = [
    "Fig. 2",
    "Figure 3 – Coupe axiale",
    "0 1 2 3 4 5 6 7 8 9 10 cm",
    "1.06 cm",
    "32Hz",
    "14cm",
    "MI 0.9",
    "TIB 0.4",
    "C6-2",
    "Gn 45",
    "08/10/2017",
    "<00:03:41>",
    "CVP:2",
    "G:H",
    "3:14:09 PM",
    "7/19/2015",
    "14:27:05",
    "31/0/2019",
    "+2:08:51",
    "TIS<0.4 MI=0.8 AO=75%",
    "Siemens Healthineers",
    "SIEMENS GYN",
    "REPUBLIQUE FRANÇAISE",
    "RÉPUBLIQUE FRANÇAISE",
    "PASSEPORT",
    "PASSEPORTDESERVICE",
    "TOTAL",
    "SORTIE",
    "CENTRE HOSPITALIER",
    "CENTRE HOSPITALIER Marie Curie",
    "HOPITAL SAINT LOUIS",
    "Introduction",
    "Résultats",
    "Conclusion",
    "Cas clinique n°3",
    "Service de dermatologie",
    "Service de cardiologie – 3e étage",
    "Bloc opératoire B - Salle 4",
    "red green blue",
    "Bienvenue à Paris",
    "Centre Ville",
    "Gare SNCF",
    "Rue Victor Hugo",
    "Lycée Victor Hugo",
    "Avenue des Champs-Élysées",
    "Place de la République",
    "Musée du LOUVRE",
    "58Km",
    "MR Brain",
    "IRM cérébrale 3T",
    "Score de Glasgow 15",
    "Tableau 2 – Caractéristiques des 120 patients",
    "n = 245 patients",
    "10000 PATIENTS",
    "p < 0.001",
    "IC 95 % [1,2 - 3,4]",
    "Dose : 500 mg x 3/j",
    "Version 2.1.3",
    "ISBN 978-2-1234-5680-3",
    "Année 2023-2024",
    "Journées de dermatologie 2023",
    "Congrès de la SFD, 5-8 décembre 2023",
    "Lundi 12 mars 2024",
    "Mise à jour le 12/03/2024",
    "Le dossier médical partagé",
    "Admission en réanimation",
    "Record 3",
    "Patients with diabetes",
    "Nom du service : Cardiologie",
    "Madame, Monsieur,",
    "Monsieur le Directeur",
    "Nom",
    "Date de naissance",
    "IPP",
    "World Health Organization",
    "Clean hands with soap and water",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.",
    "Le patient a été admis pour une douleur thoracique évoluant depuis 3 jours.",
    "The patient was admitted on day 3 for chest pain and shortness of breath.",
    "Il ne le savait pas le 12/03/2020.",
    "La plaie du pied diabétique a été reprise au bloc.",
    "Paul M. Renard contributed to this chapter",
    "as discussed in the PR. Do not merge",
    "Page 7",
    "CINE 0117",
    "64,250",
    "RIVERSIDE MED CTR",
    "Adresse déjà utilisée",
    "NOM DE FICHIER",
    "Noms des services connus :",
    "Fichier\u00a0« SYNTHESE_V2 »\u00a0introuvable",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_a_line_that_identifies_nobody_stays_plain_text(text: str) -> None:
    assert _classify(text) == []


# Per-kind near misses: lines that look like a kind without being it.
NEAR_MISSES = [
    (NIR_WRONG, K.NIR),
    (_spaced(NIR_WRONG), K.NIR),
    (f"NIR {NIR_WRONG}", K.NIR),
    (NIR[:13], K.NIR),  # no key and no label
    ("3 54 03 75 116 042", K.NIR),  # no such sex digit, no key
    ("Né le", K.BIRTH_DATE),
    ("Date d'examen : 08/10/2017", K.BIRTH_DATE),
    ("Date of issue 01 JAN 2015", K.BIRTH_DATE),
    ("12.03.1954", K.BIRTH_DATE),  # bare date without any label or document around
    ("14.09.2011", K.PHONE),
    ("12/03/1954 14:30", K.PHONE),
    ("2 71 05 33", K.PHONE),
    ("004-7731 5620", K.PHONE),  # digits under a barcode
    ("IPP : en attente", K.RECORD_NUMBER),
    ("Dossier de presse 2023", K.RECORD_NUMBER),
    ("N° 123456", K.RECORD_NUMBER),  # a number without a record label
    ("123456", K.RECORD_NUMBER),
    ("1 place disponible", K.POSTAL_ADDRESS),
    ("Rue de Rivoli", K.POSTAL_ADDRESS),  # a street sign, no house number
    ("20 rue", K.POSTAL_ADDRESS),
    ("Adresse e-mail : contact@exemple.fr", K.POSTAL_ADDRESS),
    ("Maple Rd.", K.POSTAL_ADDRESS),
    ("Dr House", K.PERSON_NAME),
    ("Docteur", K.PERSON_NAME),
    ("SAINT Louis", K.PERSON_NAME),
    ("BOULANGERIE Paul", K.PERSON_NAME),
    ("Dayton, Anna, OH 45402", K.PERSON_NAME),
    ("E-mail", K.EMAIL),
    ("x^2 + y^2", K.PERSON_NAME),
    ("Carte ID 1234", K.RECORD_NUMBER),
    ("user at example dot com", K.EMAIL),
    ("TIS<0.4 MI=0.8", K.MRZ),
    ("<<< Retour", K.MRZ),
    ("Price <under> $12.50 for the 3 <small> items", K.MRZ),
]


@pytest.mark.parametrize(("text", "kind"), NEAR_MISSES, ids=[f"{n[1].value}:{n[0]}" for n in NEAR_MISSES])
def test_a_near_miss_is_not_reported_as_that_kind(text: str, kind: FindingKind) -> None:
    assert kind not in _kinds(text)


# --------------------------------------------------------------------------------------------------
# Several kinds on one line, context across lines
# --------------------------------------------------------------------------------------------------


def test_a_wristband_line_holds_name_birth_date_and_record_number() -> None:
    matches = _classify("DUPONT Marie née le 12/03/1954 IPP 123456")
    assert {(m.kind, m.rule) for m in matches} == {
        (K.PERSON_NAME, "name-upper-first"),
        (K.BIRTH_DATE, "birth-date-labelled"),
        (K.RECORD_NUMBER, "record-labelled"),
    }


def test_a_prescription_header_is_fully_classified() -> None:
    found = _found(
        "Dr Jean MARTIN",
        "Médecin généraliste",
        "12 rue des Lilas 75013 PARIS",
        "Tél. 01 45 67 89 10",
        "cabinet.martin@exemple.fr",
        "Ordonnance du 15/03/2024",
        "Mme BERNARD Lucie",
    )
    assert found == {
        (0, K.PERSON_NAME),
        (2, K.POSTAL_ADDRESS),
        (3, K.PHONE),
        (4, K.EMAIL),
        (6, K.PERSON_NAME),
    }


CROSS_LINE = [
    (["Nom", "DUPONT"], {(1, K.PERSON_NAME)}),
    (["Nom / Surname", "MARTIN"], {(1, K.PERSON_NAME)}),
    (
        ["1. Surname/Nom", "GARNIER", "2. Given names/Prénoms", "ANNE SOPHIE"],
        {(1, K.PERSON_NAME), (3, K.PERSON_NAME)},
    ),
    (["Nomtz", "ROUSSEL"], {(1, K.PERSON_NAME)}),  # label glued to OCR noise
    (["Date de naissance", "12/03/1954"], {(1, K.BIRTH_DATE)}),
    (["Né(e) le", "12.03.1954"], {(1, K.BIRTH_DATE)}),
    (["Date of birth / Date de naissance", "F", "14 FEB 1962"], {(2, K.BIRTH_DATE)}),
    (["Date de naissance", "03111948"], {(1, K.BIRTH_DATE)}),
    (["IPP", "8001234567"], {(1, K.RECORD_NUMBER)}),
    (["N° de dossier :", "A-2024-00123"], {(1, K.RECORD_NUMBER)}),
    (["N° SS", _spaced(NIR)[:-3]], {(1, K.NIR)}),
    (["Domicile / Adresse / Address", "Lieu-dit Kerbras, Plouvien"], {(1, K.POSTAL_ADDRESS)}),
]


@pytest.mark.parametrize(("lines", "expected"), CROSS_LINE, ids=[" | ".join(c[0]) for c in CROSS_LINE])
def test_a_label_on_one_line_classifies_the_value_on_the_next(
    lines: list[str], expected: set[tuple[int, FindingKind]]
) -> None:
    assert _found(*lines) == expected


def test_a_label_does_not_reach_past_an_unrelated_line() -> None:
    assert _found("Nom", "Service de dermatologie", "DUPONT") == set()
    assert _found("IPP", "Service de dermatologie", "8001234567") == set()
    assert _found("Adresse", "Téléphone", "Pavillon B, 3e étage") == set()


def test_a_date_after_an_issue_label_is_not_a_birth_date_even_under_a_birth_label() -> None:
    assert K.BIRTH_DATE not in _kinds("Date de naissance", "Date de délivrance 01.02.2015")


# Bare dates: exam dates on overlays stay plain text; in an identity document the earliest one is
# the birth date.
OVERLAYS = [
    ["08/10/2017", "<00:03:41>", "CVP:2", "G:H"],
    ["SIEMENS GYN", "MI 0.9", "7/19/2015", "Siemens Healthineers", "TIB 0.4", "3:14:09 PM", "C6-2", "2.3 cm"],
    ["Coloscopie", "05/11/2016", "<00:22:13>", "CVP:3", "Cr:B"],
    ["Figure 3 – Coupe axiale", "Examen du 02/05/2019", "Cas clinique n°3"],
]


@pytest.mark.parametrize("lines", OVERLAYS, ids=[o[0] for o in OVERLAYS])
def test_exam_overlays_and_slides_stay_plain_text(lines: list[str]) -> None:
    assert _classify(*lines) == []


def test_a_bare_date_counts_as_birth_date_in_a_form_with_name_labels() -> None:
    found = _found("Nom : DUPONT", "Prénom : Marie", "12/03/1954", "Sexe : F")
    assert (2, K.BIRTH_DATE) in found


def test_in_an_identity_document_the_earliest_date_is_the_birth_date() -> None:
    lines = [
        "P<FRADURAND<<PAUL<<<<<<<<<<<<<<<<<<<<<<<<<<<",
        "Autorité : Préfecture",
        "06.06.2016",
        "05.06.2026",
        "14.02.1962",
        "99XY123456FRA6202141M2606056<<<<<<<<<<<<<<04",
    ]
    found = _found(*lines)
    assert (4, K.BIRTH_DATE) in found
    assert (2, K.BIRTH_DATE) not in found
    assert (3, K.BIRTH_DATE) not in found
    assert {(0, K.MRZ), (5, K.MRZ)} <= found


def test_an_exam_date_in_a_patient_banner_is_not_a_birth_date() -> None:
    found = _found("Patient : DUPONT Marie", "Date d'examen : 08/10/2017")
    assert found == {(0, K.PERSON_NAME)}


def test_a_wristband_name_makes_a_bare_date_a_birth_date_but_not_the_date_of_a_letter() -> None:
    assert _found("DUPONT Marie", "12/03/1954", "F") == {(0, K.PERSON_NAME), (1, K.BIRTH_DATE)}
    assert _found("Mme BERNARD Lucie", "Paris, le 15/03/2024") == {(0, K.PERSON_NAME)}


def test_a_document_context_admits_a_name_written_in_full() -> None:
    found = _found("Surname / Nom", "ERIKSEN", "Holder's signature", "Anna Louise Eriksen")
    assert (3, K.PERSON_NAME) in found
    assert K.PERSON_NAME not in _kinds("Anna Louise Eriksen")


# --------------------------------------------------------------------------------------------------
# Shape of the answer
# --------------------------------------------------------------------------------------------------


def test_no_lines_give_no_matches() -> None:
    assert classify_lines([]) == []


def test_matches_point_at_their_line_and_come_in_line_order() -> None:
    matches = _classify("Introduction", "06 12 34 56 78", "Conclusion", "Nom : DUPONT", "marie@exemple.fr")
    assert [(m.line_index, m.kind) for m in matches] == [(1, K.PHONE), (3, K.PERSON_NAME), (4, K.EMAIL)]


def test_one_match_per_line_and_kind_keeps_the_strongest_rule() -> None:
    matches = _classify("Nom : DUPONT Marie")
    assert [(m.kind, m.rule) for m in matches] == [(K.PERSON_NAME, "name-labelled")]


def test_rule_names_come_from_a_closed_set_and_never_carry_the_text() -> None:
    for text in [p[0] for p in POSITIVES]:
        for match in _classify(text):
            assert match.rule in KNOWN_RULES
            assert not any(c.isdigit() for c in match.rule)


def test_confidence_combines_rule_strength_and_ocr_confidence() -> None:
    sharp = _classify(_spaced(NIR), confidence=1.0)[0].confidence
    blurred = _classify(_spaced(NIR), confidence=0.4)[0].confidence
    weak_rule = next(
        m.confidence
        for m in _classify("LAMBERT, Odile  F  71 ans  5521043", confidence=1.0)
        if m.kind is K.RECORD_NUMBER
    )
    assert 0.0 < blurred < sharp <= 1.0
    assert weak_rule < sharp


def test_text_lines_carry_an_optional_box() -> None:
    line = TextLine("Nom : DUPONT", 0.9)
    assert line.box is None
    assert classify_lines([line])[0].kind is K.PERSON_NAME


# --- care facility beside an exam date or time or in a patient frame; CJK identity labels -------------


@pytest.mark.parametrize(
    ("lines", "identifying"),
    [
        pytest.param(["LAKESIDE MED CTR", "THYROID LT", "09:31:46"], True, id="ultrasound-header"),
        pytest.param(["CHU de Rennes", "Échographie du 21/06/2023"], True, id="chu-with-date"),
        pytest.param(["Hôpital Nord-Ouest", "4:07 PM"], True, id="hopital-with-time"),
        pytest.param(["Klinikum Mitte", "Sono Abdomen", "2022-08-30"], True, id="german-klinikum"),
        pytest.param(["Ospedale San Paolo", "ECO 11:52:08"], True, id="italian-ospedale"),
        pytest.param(["Clinique des Cèdres", "KOWALCZYK, Agnieszka"], True, id="clinic-with-patient"),
        pytest.param(["Service de dermatologie – CHU de Rennes"], False, id="slide-footer"),
        pytest.param(["08/10/2017", "<00:03:41>", "CVP:2"], False, id="date-without-facility"),
        pytest.param(
            ["CHU de Rennes", "Plan d'accès", "Parking", "Accueil", "Consultations", "Bar", "21/06/2023"],
            False,
            id="date-far-from-facility",
        ),
        pytest.param(
            ["Le CHU de Rennes a ouvert un bâtiment de consultations externes le 21/06/2023 à 10:00."],
            False,
            id="prose-about-a-hospital",
        ),
    ],
)
def test_care_facility_counts_beside_an_exam_date_or_a_patient(lines: list[str], identifying: bool) -> None:
    kinds = {m.kind for m in classify_lines([TextLine(t, 0.95) for t in lines])}
    assert (FindingKind.CARE_FACILITY in kinds) is identifying


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        pytest.param("姓名：李秀英", FindingKind.PERSON_NAME, id="cjk-name"),
        pytest.param("患者：王建国", FindingKind.PERSON_NAME, id="cjk-patient-colon"),
        pytest.param("氏名 山田花子", FindingKind.PERSON_NAME, id="japanese-name"),
        pytest.param("성명: 김민지", FindingKind.PERSON_NAME, id="korean-name"),
        pytest.param("身份证号：320102197305114426", FindingKind.RECORD_NUMBER, id="cjk-identity-card"),
        pytest.param("住院号 A2031774", FindingKind.RECORD_NUMBER, id="cjk-admission-number"),
        pytest.param("病历号：0057731", FindingKind.RECORD_NUMBER, id="cjk-record-number"),
        pytest.param("カルテ番号：7730215", FindingKind.RECORD_NUMBER, id="japanese-chart-number"),
        pytest.param("등록번호 55120734", FindingKind.RECORD_NUMBER, id="korean-registration-number"),
        pytest.param("出生日期：1961-04-22", FindingKind.BIRTH_DATE, id="cjk-birth-date"),
        pytest.param("生年月日 1948年3月7日", FindingKind.BIRTH_DATE, id="japanese-birth-date"),
    ],
)
def test_cjk_identity_labels(text: str, kind: FindingKind) -> None:
    assert kind in {m.kind for m in classify_lines([TextLine(text, 0.95)])}


@pytest.mark.parametrize(
    "text",
    [
        "请勿乱扔垃圾",
        "第3页",
        "产品编号：440871",  # a product number
        "证书编号：775104",  # a certificate number, not a patient's
        "批号：23B114",  # a lot number
        "患者须知",  # "notice to patients", no value
        "出生缺陷防治",  # "birth defect prevention", no date
    ],
)
def test_cjk_text_without_identity_labels_is_plain(text: str) -> None:
    assert classify_lines([TextLine(text, 0.95)]) == []


def test_clinical_case_is_not_a_clinic() -> None:
    lines = ["Cas clinique n°3", "Examen clinique du 02/05/2019"]
    assert FindingKind.CARE_FACILITY not in {
        m.kind for m in classify_lines([TextLine(t, 0.95) for t in lines])
    }
    lines = ["Clinique du Parc", "02/05/2019 10:15:00"]
    assert FindingKind.CARE_FACILITY in {m.kind for m in classify_lines([TextLine(t, 0.95) for t in lines])}


# --- a record number beside a name; the one-image code-shape rule is gone ------------------------------


def test_a_bare_number_is_a_record_number_only_beside_a_name() -> None:
    assert (0, K.RECORD_NUMBER) in _found("OKAFOR, Ngozi  F  52 y  6630917")
    assert (1, K.RECORD_NUMBER) in _found("SCHNEIDER Ingrid", "8804213")
    assert K.RECORD_NUMBER not in _kinds("8804213")
    assert K.RECORD_NUMBER not in _kinds("13-07-21-093355")  # a device timestamp stays plain text
    assert K.RECORD_NUMBER not in _kinds("SCHNEIDER Ingrid", "Lot 8804213")
