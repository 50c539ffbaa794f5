"""Sort OCR text lines into the kinds of identifiers that point at a patient.

The OCR wrapper hands over every recognised line of one frame; :func:`classify_lines` returns which lines
hold a person's name, a birth date, a French NIR, a hospital record number, a passport MRZ, a phone
number, an e-mail or a postal address. Lines matched by no rule are plain text for the caller.

Design notes:

* Everything is rule-based and pure: compiled regular expressions and frozen word lists, no model, no I/O
  at call time, no clock. The same lines always give the same matches. Names without a field label
  (bed signs, wristbands, monitor headers) come from :mod:`detectors.names`, which reads its lexicons once
  at import.
* OCR text is noisy (missing spaces, O/0 and I/1 swaps, lost accents), so each line is matched on a
  *folded* copy (lower case, accents stripped, digit look-alikes fixed inside numbers) that keeps the
  character positions of the original, so the original case is still at hand for names.
* Context crosses lines: a label ("Nom", "Date de naissance", "IPP"...) often sits on its own line with
  the value on the next one, and a bare date only counts as a birth date in an identity-document context.
* A bare number or date never counts on its own: exam dates and times on endoscopy or ultrasound
  overlays, rulers and measurements must stay plain text.
* ``IdentifierMatch.rule`` names the rule that fired; it never carries the matched text, so it is safe
  to log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from detectors.base import BoundingBox, FindingKind
from detectors.folding import fold
from detectors.names import find_name, fragment_shape, is_given_name, is_name_line, line_cues

__all__ = ["IdentifierMatch", "TextLine", "classify_lines", "nir_is_valid"]


@dataclass(frozen=True, slots=True)
class TextLine:
    """One line of recognised text, as the OCR returned it."""

    text: str
    confidence: float
    box: BoundingBox | None = None


@dataclass(frozen=True, slots=True)
class IdentifierMatch:
    """A line (``line_index`` into the input) that holds an identifier of ``kind``.

    ``rule`` is a short rule name, safe to log; it never contains the matched text.
    """

    kind: FindingKind
    confidence: float
    line_index: int
    rule: str


# --------------------------------------------------------------------------------------------------
# Text normalisation
# --------------------------------------------------------------------------------------------------


# Inside a run of digits, OCR often reads 0 as O and 1 as I, l or |. Only runs that already hold a real
# digit are fixed, so words ("Il", "OB", "IPP") are left alone.
_DIGIT_RUN: Final = re.compile(r"[0-9OoIl|]{2,}")
_ANY_DIGIT: Final = re.compile(r"\d")
_WHITESPACE: Final = re.compile(r"\s+")
_NAME_SPLIT: Final = re.compile(r"[\s,]+")
_FIELD_NUMBER: Final = re.compile(r"(?:\d{1,2}|[a-z])[.)]?")
_TIME: Final = re.compile(r"\d{1,2}[:h]\d{2}(?::\d{2})?")
_YEAR: Final = re.compile(r"(?:19|20)\d{2}")
# Two capitals in a row: the cheap test before looking for a surname in capitals.
_TWO_CAPITALS: Final = re.compile(r"[A-ZÀ-ÖØ-Þ]{2}")
_DIGIT_FIX: Final = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})


def _fix_digits(text: str) -> str:
    if not _ANY_DIGIT.search(text):
        return text
    return _DIGIT_RUN.sub(
        lambda m: m.group().translate(_DIGIT_FIX) if any(c.isdigit() for c in m.group()) else m.group(),
        text,
    )


def _fold(text: str) -> str:
    return fold(text)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _count_digits(text: str) -> int:
    return sum(map(str.isdigit, text))


# --------------------------------------------------------------------------------------------------
# Word lists
# --------------------------------------------------------------------------------------------------

# Capitalised words that start headings, institutions, signs and places rather than a surname: an
# upper-case run holding one of them before a first name ("CENTRE HOSPITALIER Marie Curie",
# "LYCEE Victor", "RUE Pierre") is not a person's name.
_NOT_SURNAME: Final = _words(
    """
    a aeroport aile airport al all allee and ap aphp apotheke aquarium au aux av avenue bank banque
    bar batiment bay bd bed big bio bld bloc boulangerie boulevard boutique box brasserie building
    bus by cafe cap cas castle centre center centro chambre chateau chem chemin chez chi chr chu
    church cite city clinique clinic club college collection cours ct dans de del department
    departement der des dept dr du east eglise ecole ehpad el en entree entrance est et etage exit
    faculte fig figure floor fondation for fort foundation francaise francais gare gate general
    grand groupe hall hopital hospital hospitalier hotel house imm impasse institut institute irm
    jardin la lac lake le les lit lycee mairie maison mall marche med medical metro mme mont mount
    mr mrs ms musee museum new nord north notre of old on ouest parc park parking passage passeport
    passport pavillon petit pharmacie place plaza pole pont port porte pr prof quai republique
    residence restaurant road room route royal rue saint sainte salle salon school secteur service
    sortie south sq square st ste stade station street sud super superieur the theatre to total tour
    tram unit unite universite university ville von voie ward welcome west wing zone
    or if in no be is it as not but any per via vs see ou par pour sur avec sans am pm mri ct tdm rx
    us echo doppler gen ob gyn philips siemens toshiba canon samsung ge
    villa domaine espace clos mas atelier studio galerie cabinet laboratoire labo foyer creche
    association prix gymnase piscine cinema opera cathedrale chapelle basilique abbaye temple niveau
    couloir accueil urgences radiologie maternite pediatrie chirurgie reanimation consultation
    consultations bat
    """
)

# Words that cannot open a name value after a label: label vocabulary of identity documents and forms.
# Words that never belong to a name value after a label: label vocabulary of identity documents and
# forms, titles, and placeholders. One of them anywhere in the value means it is not a name.
_NOT_NAME_VALUE: Final = _words(
    """
    address adresse age annotation authority autorite birth card carte case category classe code
    country date document domicile entries expiry expiration eyes first gender given height holder
    issue issued issuing last licence license lieu marital name names naissance nationality
    nationalite no nom noms number numero observations of passport passeport pays permit personal
    place post prenom prenoms registration remarks residence sex sexe signature status surname
    taille the titulaire type valid validity visa n inconnu unknown anonyme anonymous xxx ne nee
    nees monsieur madame mademoiselle docteur professeur directeur directrice president presidente
    maire ministre service unite
    """
)


# --------------------------------------------------------------------------------------------------
# MRZ (ICAO 9303)
# --------------------------------------------------------------------------------------------------

_MRZ_ALPHABET: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
# OCR reads the '<' filler as 'K' (same shape in OCR-B) or merges two of them into '«'.
_MRZ_K_RUN: Final = re.compile(r"[K<]{4,}")
_MRZ_DOC_PREFIX: Final = re.compile(r"^[PIACV][A-Z<][A-Z<0]{3}")
# Birth date, check digit, sex, expiry date, check digit: the core of every MRZ second line.
_MRZ_DATES: Final = re.compile(r"[0-9O]{6}[0-9O<][MFX<][0-9O]{6}[0-9O<]")


def _mrz_rule(raw: str) -> tuple[str, float] | None:
    # An MRZ line has no spaces (OCR inserts a few at most); text lines with '<' are prose or code.
    if sum(c.isspace() for c in raw) > 3 or "»" in raw:
        return None
    if "<" not in raw and "«" not in raw and "KKKK" not in raw and len(raw) < 26:
        return None
    s = _WHITESPACE.sub("", raw.upper()).replace("«", "<<").replace("‹", "<")
    if len(s) < 15:
        return None
    s = _MRZ_K_RUN.sub(lambda m: "<" * len(m.group()), s)
    n = len(s)
    ratio = sum(c in _MRZ_ALPHABET for c in s) / n
    if ratio < 0.92:
        return None
    if n >= 25 and "<<<" in s:
        return ("mrz-filler", 0.95)
    # Half of a line the OCR cut in two: a long run of fillers and some data.
    if n >= 16 and "<<<<<" in s and ratio >= 0.95 and n - s.count("<") >= 4:
        return ("mrz-filler", 0.9)
    if n >= 18 and _MRZ_DOC_PREFIX.match(s) and s.count("<") >= 2 and "<<" in s:
        return ("mrz-doc-prefix", 0.9)
    if 26 <= n <= 48 and ratio >= 0.95 and _MRZ_DATES.search(s):
        return ("mrz-date-core", 0.85)
    return None


# --------------------------------------------------------------------------------------------------
# NIR (French social-security number)
# --------------------------------------------------------------------------------------------------

# Sex digit, year, month, department (2A/2B for Corsica), commune, order, then an optional key. OCR
# splits it anywhere, so separators are allowed between digits; the groups are checked afterwards.
_NIR_RE: Final = re.compile(
    r"(?<![\w.,/\-])([1278](?:[ .]?\d){4}[ .]?(?:2[ab]|\d[ .]?\d)(?:[ .]?\d){6})"
    r"(?:[ .]{0,2}(\d[ .]?\d))?(?![\w]|[.,/\-]\d)"
)
_NIR_STRICT: Final = re.compile(r"^[1278]\d{4}(?:\d{2}|2[AB])\d{6}\d{2}$")
_NIR_SEPARATORS: Final = re.compile(r"[\s.\-]+")


def _nir_number(body: str) -> int:
    """NIR body as the integer the key is computed on (Corsica: 2A counts as 19, 2B as 18)."""
    dept = body[5:7]
    if dept == "2A":
        body = body[:5] + "19" + body[7:]
    elif dept == "2B":
        body = body[:5] + "18" + body[7:]
    return int(body)


def nir_is_valid(text: str) -> bool:
    """Tell whether ``text`` is a well-formed French NIR whose 2-digit key matches its 13 first characters.

    Spaces, dots and hyphens are ignored; the department may be ``2A``/``2B`` (Corsica). The key is
    ``97 - (n mod 97)``, where ``n`` is the 13-character body read as a number (2A as 19, 2B as 18).
    """
    compact = _NIR_SEPARATORS.sub("", text.upper())
    if not _NIR_STRICT.match(compact):
        return False
    return 97 - _nir_number(compact[:13]) % 97 == int(compact[13:])


def _nir_month_ok(body: str) -> bool:
    # Months 20-42 and 50-99 are legal "unknown month" codes in the NIR rules.
    month = int(body[3:5])
    return 1 <= month <= 12 or 20 <= month <= 42 or month >= 50


def _nir_groups_ok(span_text: str) -> bool:
    # Printed NIRs group digits (1 84 12 75 123 456 78); only the sex digit stands alone. This keeps
    # rulers and digit lists ("1 2 3 4 5 ...") out.
    groups = [g for g in _NIR_SEPARATORS.split(span_text) if g]
    return all(len(g) >= 2 for g in groups[1:]) and len(groups) <= 8


# --------------------------------------------------------------------------------------------------
# Labels (matched on folded text)
# --------------------------------------------------------------------------------------------------

_NAME_LABEL: Final = re.compile(
    r"(?<![a-z])(?:"
    r"nom\s*(?:de\s*naissance|d\s*'?\s*usage|de\s*famille|marital|patronymique|usuel|de\s*jeune\s*fille)"
    r"|(?:given|first|last|family|full|maiden|middle|patient'?s?|pat\.?|pt\.?|birth|christian)\s*names?"
    r"|surnames?|forenames?|prenoms?|vornamen?|nachname|noms?|names?"
    r"|patiente?(?!\s*(?:id|no|n\s*[°o]|number|nr|#|ident))"
    r")(?![a-z])"
)
# A bare "name"/"nom"/"patient" only labels a value at the start of a field, not inside prose or
# after a qualifier ("Brand name", "Product name", "le nom du", "le patient").
_BARE_NAME_LABELS: Final = frozenset({"name", "names", "nom", "noms", "patient", "patiente"})
_WEAK_NAME_LABELS: Final = frozenset({"name", "names", "patient", "patiente"})

_BIRTH_LABEL: Final = re.compile(
    r"(?<![a-z])(?:"
    r"date\s*(?:de\s*)?naiss?\w*|date\s*(?:et|/|&)\s*lieu\s*de\s*naiss?\w*|date\s*of\s*birth|birth\s*date"
    r"|birthdate|birthday|date\s*birth|dob|d\.o\.b\.?|ddn|naissance|birth(?!\s*place)"
    r"|geb(?:urtsdatum|urtstag|oren|\.)|born"
    r"|(?P<ne>n\s*e\s*(?:\(\s*e\s*\)\s*(?:le)?|e?\s*s?\s*le))"
    r")(?![a-z])"
)
# "lieu de naissance", "place of birth", "nom de naissance" name something else than the date.
_BIRTH_NOT_DATE_BEFORE: Final = re.compile(
    r"(?:lieu|place|pays|ville|country|city|town|nom|name|departement|commune)\s*(?:de|d'|of)?\s*$"
)
# Dates after these labels are about the exam or the document, not the person.
_OTHER_DATE_LABEL: Final = re.compile(
    r"(?<![a-z])(?:issue|issued|deliv\w*|expir\w*|valid\w*|gultig|ausstell\w*|exam\w*|study|etude"
    r"|acquisition|acq|edit\w*|imprim\w*|print\w*|consult\w*|prelev\w*|admission|admis|entree|sortie"
    r"|hospitalisation|intervention|operation|rdv|rendez|visite|visit|scan|serie|series|deces|death"
    r"|prescription|ordonnance|report|compte|signe|signed|fait\s+le|emission|creat\w*"
    # The date of a letter or a prescription: "Le 15/03/2024", "Paris, le 15 mars 2024".
    r"|(?:(?<=,)\s*|^\s*)le(?=\s*\d))(?![a-z])"
)

_RECORD_LABEL: Final = re.compile(
    r"(?<![a-z])(?:"
    r"(?P<strong>ipp|nip|nda|mrn|ins|n\s*[°o]?\.?\s*(?:de\s*)?(?:dossier|sejour|venue|patient)"
    r"|num(?:ero)?\.?\s*(?:de\s*)?(?:dossier|sejour|venue|patient)"
    r"|(?:patient|pat\.?|pt\.?)\s*(?:id|no|n\s*[°o]|number|nr|#)|id\.?\s*patient|identifiant\s*(?:patient)?"
    r"|medical\s*record\s*(?:no|number|#)?|hospital\s*(?:no|number|id)|case\s*(?:no|number)"
    r"|accession\s*(?:no|number|#)?|personal\s*(?:id\.?\s*)?(?:no|number)|n\s*[°o]\s*personnel"
    r"|passport\s*(?:no|number)|n\s*[°o]\s*(?:du\s*|de\s*)?passeport|document\s*(?:no|number))"
    r"|(?P<weak>dossier|sejour|record|admission|episode|matricule)"
    r"|(?P<bare>p?id)"
    r")(?![a-z])"
)
# What may sit between a record label and its value: separators and "n°", "no", "number", "id".
_RECORD_GAP: Final = re.compile(r"(?:[\s:#=.\-°/]|n\s*°|no(?![a-z])|number|numero|nr(?![a-z])|id(?![a-z]))*")
_RECORD_VALUE: Final = re.compile(r"[a-z0-9](?:[a-z0-9\-/._]*[a-z0-9])?")

_NIR_LABEL: Final = re.compile(
    r"(?<![a-z])(?:nir|ins|nss|n\s*[°o]?\s*s\.?\s*s\.?|secu(?:rite)?\s*sociale|n\s*[°o]?\s*(?:de\s*)?secu\w*"
    r"|immatriculation|matricule\s*ins|social\s*security)(?![a-z])"
)

_ADDRESS_LABEL: Final = re.compile(
    r"(?<![a-z])(?:adresse|address|domicile|domiciliu|demeurant|residing|residence)(?![a-z])"
)
_ADDRESS_NOT_POSTAL: Final = re.compile(r"(?:e-?\s*mail|courriel|ip|web|mac|electronique)\s*$")
_ADDRESS_NOT_POSTAL_AFTER: Final = re.compile(r"^\s*(?:e-?\s*mail|electronique|ip|web|mac|url)")
_ADDRESS_WORD: Final = re.compile(r"[^\W\d_]{3,}")
# Street types and postcodes that make the value of an "Adresse" label an address.
_ADDRESS_EVIDENCE: Final = re.compile(
    r"(?<![a-z])(?:rue|avenue|av|bd|boulevard|chemin|impasse|allee|place|quai|route|cours|square|lieu-dit"
    r"|residence|lotissement|street|st|road|rd|lane|drive|str|strada|strasse|calle|via|cedex)(?![a-z])"
    r"|(?<!\d)\d{4,5}(?!\d)"
)
_HYPHEN_WORD: Final = re.compile(r"-[a-z]")

_PHONE_LABEL: Final = re.compile(
    r"(?<![a-z])(?:tel|telephone|phone|portable|mobile|gsm|fax|cell|mob)(?![a-z])\.?\s*(?:[:.]\s*)?"
)

# A label glued to OCR noise and alone on its line ("Nom" run into the noise of its neighbour).
_GLUED_NAME_LABEL: Final = re.compile(r"(?:\d{1,2}[.)]?\s*)?(?:nom|surname|prenoms?)[a-z]{1,4}")
_NOT_GLUED_NAME_LABEL: Final = frozenset(
    {"nombre", "nombres", "nomade", "nomades", "nomad", "nomads", "nomme", "nommee", "nommer", "prenommee"}
)
_LABEL_SEPARATORS: Final = " \t:;,./|-–()#=*_°"


def _at_field_start(folded: str, start: int, end: int) -> bool:
    """Whether a label at ``start:end`` opens a field (line start, after a separator, or before ':')."""
    before = folded[:start].rstrip()
    if not before or before[-1] in "/|(,;:" or _FIELD_NUMBER.fullmatch(before):
        return True
    return folded[end:].lstrip().startswith(":")


# --------------------------------------------------------------------------------------------------
# Dates (matched on folded, digit-fixed text)
# --------------------------------------------------------------------------------------------------

_MONTHS: Final = MappingProxyType(
    {
        **dict.fromkeys(("jan", "janv", "janvier", "january", "jaan"), 1),
        **dict.fromkeys(("fev", "fevr", "fevrier", "feb", "febr", "february", "feber"), 2),
        **dict.fromkeys(("mar", "mars", "march", "mrt", "marz", "maerz"), 3),
        **dict.fromkeys(("avr", "avril", "apr", "april"), 4),
        **dict.fromkeys(("mai", "may", "mei"), 5),
        **dict.fromkeys(("juin", "jun", "june", "juni"), 6),
        **dict.fromkeys(("juil", "juillet", "jul", "july", "juli"), 7),
        **dict.fromkeys(("aout", "aou", "aug", "august", "augustus"), 8),
        **dict.fromkeys(("sep", "sept", "septembre", "september"), 9),
        **dict.fromkeys(("oct", "octobre", "october", "okt", "oktober"), 10),
        **dict.fromkeys(("nov", "novembre", "november"), 11),
        **dict.fromkeys(("dec", "decembre", "december", "dez", "dezember"), 12),
    }
)

_DATE_NUMERIC: Final = re.compile(
    r"(?<![\d/.:\-])(\d{1,2})\s?([/.\-])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2})(?!\d|[/.:\-]\d)"
)
_DATE_ISO: Final = re.compile(
    r"(?<![\d/.:\-])((?:18|19|20)\d{2})([\-/.])(\d{1,2})\2(\d{1,2})(?!\d|[/.:\-]\d)"
)
# ddmmyyyy with missing separators ("10041960", "06.062008"): only near a birth label or in a document.
_DATE_COMPACT: Final = re.compile(r"(?<![\d/.:\-])(\d{2})\.?(\d{2})\.?((?:19|20)\d{2})(?!\d|[/.:\-]\d)")
_DATE_DAY_MONTH: Final = re.compile(
    r"(?<![a-z0-9])(\d{1,2})(?:er|st|nd|rd|th)?[\s.\-/]*([a-z]{3,9})\.?(?:\s*/\s*([a-z]{3,9})\.?)?"
    r"[\s.,\-/]*(\d{4}|\d{2})(?!\d)"
)
_DATE_MONTH_DAY: Final = re.compile(
    r"(?<![a-z])([a-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:18|19|20)\d{2})(?!\d)"
)
# "12/03/1954 (70 ans)": an age right after a date makes it a birth date.
_AGE_AFTER: Final = re.compile(r"^\s*[(,\-]?\s*\d{1,3}\s*(?:ans|an|a|years?|yrs?|y\.?o\.?|y)(?![a-z])")


@dataclass(frozen=True, slots=True)
class _Date:
    start: int
    end: int
    year: int
    compact: bool


def _full_year(year: str) -> int:
    value = int(year)
    if len(year) == 2:
        # Fixed pivot (no clock: the module stays pure); birth years 1931-1999 and 2000-2030.
        return 1900 + value if value > 30 else 2000 + value
    return value


def _valid_day_month(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def _find_dates(text: str) -> list[_Date]:
    dates: list[_Date] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, year: int, compact: bool) -> None:
        if 1880 <= year <= 2100 and not any(s < end and start < e for s, e in taken):
            taken.append((start, end))
            dates.append(_Date(start, end, year, compact))

    for m in _DATE_ISO.finditer(text):
        if _valid_day_month(int(m.group(4)), int(m.group(3))):
            add(m.start(), m.end(), int(m.group(1)), False)
    for m in _DATE_NUMERIC.finditer(text):
        a, b = int(m.group(1)), int(m.group(3))
        # Day first (French) or month first (US screens): either order must make a calendar date.
        if _valid_day_month(a, b) or _valid_day_month(b, a):
            add(m.start(), m.end(), _full_year(m.group(4)), False)
    for m in _DATE_DAY_MONTH.finditer(text):
        month = _MONTHS.get(m.group(2))
        if month is None or (m.group(3) is not None and m.group(3) not in _MONTHS):
            continue
        if _valid_day_month(int(m.group(1)), month):
            add(m.start(), m.end(), _full_year(m.group(4)), False)
    for m in _DATE_MONTH_DAY.finditer(text):
        month = _MONTHS.get(m.group(1))
        if month is not None and _valid_day_month(int(m.group(2)), month):
            add(m.start(), m.end(), int(m.group(3)), False)
    for m in _DATE_COMPACT.finditer(text):
        if _valid_day_month(int(m.group(1)), int(m.group(2))):
            add(m.start(), m.end(), int(m.group(3)), True)
    return dates


# --------------------------------------------------------------------------------------------------
# Phones, e-mails, addresses, record codes
# --------------------------------------------------------------------------------------------------

_PHONE_RULES: Final = (
    (
        "phone-fr",
        re.compile(
            r"(?<![\w+.\-/:])(?:(?:\+|00)\s?33\s?(?:\(\s?0\s?\)\s?)?|0)[1-9](?:[\s.\-]{0,2}\d{2}){4}(?!\w|[.\-/:]\d)"
        ),
    ),
    # International numbers need the "+": a leading "00" is as often the start of a code under a barcode.
    (
        "phone-intl",
        re.compile(
            r"(?<![\w+.\-/:])\+\d{1,3}[\s.\-]?(?:\(\d{1,4}\)[\s.\-]?)?\d{1,4}"
            r"(?:[\s.\-]?\d{2,4}){1,5}"
            r"(?!\w|[.\-/:]\d)"
        ),
    ),
    (
        "phone-nanp",
        re.compile(
            r"(?<![\w.\-/:])(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?\d{3}[\s.\-]\d{4}|\d{3}([.\-])\d{3}\1\d{4})(?!\w|[.\-/:]\d)"
        ),
    ),
    # Trunk prefix + area code, then the subscriber number ("0XX-XXXXXXXX" in many countries).
    ("phone-area-code", re.compile(r"(?<![\w+.\-/:])0\d{1,4}[\-\s]\d{6,8}(?!\w|[.\-/:]\d)")),
)
_PHONE_LABELLED_VALUE: Final = re.compile(r"\+?\(?\d[\d\s.\-()]{6,22}\d")

_EMAIL: Final = re.compile(r"[a-z0-9][a-z0-9._%+\-]*\s?@\s?[a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.[a-z]{2,}")

_STREET_FR: Final = re.compile(
    r"(?<![\w.,/\-])\d{1,4}\s?(?:bis|ter|b|t|a)?\s*,?\s*"
    r"(?:rue|avenue|av|bd|boulevard|bld|blvd|chemin|impasse|allee|place|quai|route|rte|cours|square"
    r"|passage|residence|lotissement|lieu-dit|faubourg|fbg|sentier|hameau|cite|parvis|esplanade"
    r"|rond-point|villa|promenade|montee|ruelle|traverse)\.?\s+(\S+)"
)
_STREET_FR_ARTICLES: Final = _words(
    """
    de du des d d' la le les l l' saint sainte st ste aux au general marechal docteur president
    """
)
_STREET_EN: Final = re.compile(
    r"(?<![\w.,/\-])\d{1,5}[A-Za-z]?,?\s+((?:[A-Z][\w'\-]*\.?\s+){1,4})"
    r"(?i:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|court|ct|way|place|terrace|close"
    r"|crescent|highway|hwy|parkway|pkwy|square)\b"
)
_STREET_EN_NOT_NAME: Final = _words(
    """
    the a an in of and on at to for from with by
    """
)
_POSTCODE_CITY: Final = re.compile(r"(?<![\w.,/\-])(?:f-?\s?)?(\d{5})\s+(\S+)", re.IGNORECASE)
_POSTCODE_NOT_CITY: Final = _words(
    """
    km cm mm m hz khz mhz mg ml kg g eur euros euro patients cas cases mois ans jours hab habitants
    personnes pts points ex exemplaires tonnes t ha lits beds usa us uk inc ltd llc gmbh sa sas units
    unites doses cells cellules copies
    """
)


# --------------------------------------------------------------------------------------------------
# Names (matched on the original case)
# --------------------------------------------------------------------------------------------------

# Civil titles. "MR", "MS" and "DR" without a dot are left out: in capitals they are more often magnetic
# resonance, multiple sclerosis or a device code than a title.
_TITLE: Final = re.compile(
    r"(?<![\w.])(?:(?P<abbr>M|MM|Mme|MME|Mlle|MLLE|Mrs|MRS|Mr|MR|Ms|MS)\.\s*"
    r"|(?:Mme|MME|Mlle|MLLE|Monsieur|MONSIEUR|Madame|MADAME|Mademoiselle|MADEMOISELLE|Mrs|Mr|Ms|Miss|MISS)\s+)"
    r"(?P<rest>\S.*)$"
)
_DOCTOR: Final = re.compile(
    r"(?<![\w.])(?:(?P<abbr>Dr|DR|Pr|PR|Prof)\.\s*|(?:Dr|Docteur|DOCTEUR|Professeur|PROFESSEUR|Prof)\s+)"
    r"(?:[A-Z]\.\s*)?(?P<rest>\S.*)$"
)
# DICOM person-name format burned into device screens: SURNAME^GIVEN^MIDDLE.
_DICOM_NAME: Final = re.compile(
    r"(?<![\w^])[^\W\d_][^\W\d_'\-]+\^[^\W\d_][^\W\d_'\-]+(?:\^[^\W\d_'\-]*)*(?![\w^])"
)
# Particles inside a surname in capitals ("LE GALL", "DE LA FONTAINE", "VAN DAMME").
_SURNAME_PARTICLES: Final = frozenset(
    {"le", "la", "de", "du", "des", "da", "di", "van", "von", "der", "el", "ben"}
)
_EDGE_PUNCTUATION: Final = ",;:.()[]\"'"


def _token_shape(token: str) -> str:
    """'upper' (DUPONT, LE-GALL), 'cap' (Marie, Jean-Pierre), or '' for anything else."""
    core = token.strip(_EDGE_PUNCTUATION)
    letters = [c for c in core if c.isalpha()]
    if len(letters) < 2 or any(not (c.isalpha() or c in "-'") for c in core):
        return ""
    if all(c.isupper() for c in letters):
        return "upper"
    if core[0].isupper() and any(c.islower() for c in letters):
        return "cap"
    return ""


def _uncased(token: str) -> bool:
    """A token in a script without case (Chinese, Arabic...): letters neither upper nor lower."""
    return any(c.isalpha() for c in token) and not any(c.isupper() or c.islower() for c in token)


def _is_first_name(token: str) -> bool:
    return is_given_name(token)


def _folded_token(token: str) -> str:
    return _fold(token.strip(_EDGE_PUNCTUATION))


def _name_value_ok(value: str, *, strict: bool) -> bool:
    """Whether ``value`` (original case) looks like a person's name given after a label."""
    # DICOM person names print as SURNAME^GIVEN on device screens.
    value = value.replace("^", " ").strip(" \t:;,.-/|=*")
    tokens = [t for t in _NAME_SPLIT.split(value) if t.strip(_EDGE_PUNCTUATION)]
    if not tokens or len(tokens) > 5:
        return False
    if any(c.isdigit() for c in value) or sum(c.isalpha() for c in value) < 2:
        return False
    if any(not (c.isalpha() or c.isspace() or c in "-',.") for c in value):
        return False
    first = tokens[0].strip(_EDGE_PUNCTUATION)
    if not first or first[0].islower():
        return False
    folded = [_folded_token(t) for t in tokens]
    if any(f in _NOT_NAME_VALUE for f in folded):
        return False
    # Every word of a name is capitalised, a particle, or from an uncased script ("NOM DE FICHIER" and
    # "Noms MCU connus" are headings: a leading particle or a lower-case word gives them away).
    if folded[0] in _SURNAME_PARTICLES or not all(
        _token_shape(t) or f in _SURNAME_PARTICLES or _uncased(t) for t, f in zip(tokens, folded, strict=True)
    ):
        return False
    if all(f in _NOT_SURNAME for f in folded):
        return False
    if strict:
        return any(
            (_token_shape(t) == "upper" and _folded_token(t) not in _NOT_SURNAME) or _is_first_name(t)
            for t in tokens
        )
    return True


def _name_after_title(rest: str, *, strict: bool = False) -> bool:
    tokens = rest.split()
    if not tokens:
        return False
    token = tokens[0]
    shape = _token_shape(token)
    if not shape:
        return False
    folded = _folded_token(token)
    if folded in _NOT_SURNAME or folded in _NOT_NAME_VALUE:
        return False
    return not strict or shape == "upper" or _is_first_name(token)


def _previous_token_is_name(raw: str, start: int) -> bool:
    before = raw[:start].split()
    return bool(before) and _token_shape(before[-1]) in ("cap", "upper")


def _name_pairs(raw: str) -> tuple[str, float] | None:
    """Surname in capitals next to a first name: "DUPONT Marie", "Marie DUPONT", "DUPONT MARIE"."""
    tokens = raw.split()
    shapes = [_token_shape(t) for t in tokens]
    folded = [_folded_token(t) for t in tokens]
    best: tuple[str, float] | None = None

    def upper_run_ok(end: int) -> bool:
        # Every capitals token of the run ending at ``end`` must be a plausible surname part: a heading
        # word anywhere in the run ("CENTRE HOSPITALIER", "LYCEE") means a sign, not a person.
        if folded[end] in _NOT_SURNAME or len(folded[end]) < 2:
            return False
        i = end - 1
        while i >= 0 and shapes[i] == "upper":
            if folded[i] in _NOT_SURNAME and folded[i] not in _SURNAME_PARTICLES:
                return False
            i -= 1
        return i < 0 or folded[i] not in _NOT_SURNAME

    for i in range(len(tokens) - 1):
        a, b = shapes[i], shapes[i + 1]
        if a == "upper" and b == "cap" and _is_first_name(tokens[i + 1]) and upper_run_ok(i):
            return ("name-upper-first", 0.85)
        if a == "cap" and b == "upper" and _is_first_name(tokens[i]) and not tokens[i].endswith(","):
            # Two-letter capitals after a first name are mostly codes ("Louis XV", "Anna, NY").
            prev = folded[i - 1] if i > 0 else ""
            if prev not in _NOT_SURNAME and folded[i + 1] not in _NOT_SURNAME and len(folded[i + 1]) >= 3:
                best = ("name-first-upper", 0.8)
        if (
            a == "upper"
            and b == "upper"
            and len(tokens) <= 6
            and _is_first_name(tokens[i + 1])
            and not _is_first_name(tokens[i])
            and len(folded[i]) >= 3
            and upper_run_ok(i)
            and best is None
        ):
            best = ("name-upper-pair", 0.6)
    return best


def _title_case_name(raw: str) -> bool:
    """A whole line "Anna Louise Moreau": first name(s) then a surname, all capitalised."""
    tokens = raw.split()
    if not 2 <= len(tokens) <= 4 or not _is_first_name(tokens[0]):
        return False
    last = tokens[-1]
    return (
        all(_token_shape(t) in ("cap", "upper") or t in _SURNAME_PARTICLES for t in tokens)
        and _folded_token(last) not in _NOT_SURNAME
        and _folded_token(last) not in _NOT_NAME_VALUE
    )


# --------------------------------------------------------------------------------------------------
# Per-line analysis
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Line:
    index: int
    raw: str
    folded: str
    ocr: float
    is_mrz: bool = False
    # Label kinds on the line whose value is *not* on the line (the label waits for the next line).
    pending: set[FindingKind] = field(default_factory=set)
    has_labels: bool = False
    has_name_label: bool = False
    has_birth_label: bool = False
    has_other_date_label: bool = False
    dates: list[_Date] = field(default_factory=list)
    # Spans of the folded line already explained by a stronger rule (NIR, e-mail, phone).
    masked: list[tuple[int, int]] = field(default_factory=list)


@dataclass(slots=True)
class _Results:
    best: dict[tuple[int, FindingKind], IdentifierMatch] = field(default_factory=dict)

    def add(self, line: _Line, kind: FindingKind, rule: str, strength: float) -> None:
        # Rule strength scaled by OCR confidence: a garbled line weakens the match without erasing it.
        ocr = min(1.0, max(0.0, line.ocr))
        confidence = round(min(1.0, strength * (0.6 + 0.4 * ocr)), 3)
        key = (line.index, kind)
        current = self.best.get(key)
        if current is None or confidence > current.confidence:
            self.best[key] = IdentifierMatch(
                kind=kind, confidence=confidence, line_index=line.index, rule=rule
            )


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = "#" * (end - start)
    return "".join(chars)


def _label_spans(folded: str) -> list[tuple[int, int, FindingKind, str]]:
    spans: list[tuple[int, int, FindingKind, str]] = []
    for m in _NAME_LABEL.finditer(folded):
        word = _WHITESPACE.sub(" ", m.group())
        if word in _BARE_NAME_LABELS and not _at_field_start(folded, m.start(), m.end()):
            continue
        if _HYPHEN_WORD.match(folded, m.end()):
            continue  # "NOM-PROPRIETE", "nom-de-fichier": a compound word, not a label
        spans.append((m.start(), m.end(), FindingKind.PERSON_NAME, word))
    for m in _BIRTH_LABEL.finditer(folded):
        if _BIRTH_NOT_DATE_BEFORE.search(folded[max(0, m.start() - 16) : m.start()]):
            continue
        spans.append((m.start(), m.end(), FindingKind.BIRTH_DATE, "ne" if m.group("ne") else "birth"))
    for m in _RECORD_LABEL.finditer(folded):
        # A bare "ID" is the patient-ID field of device screens, but only where a field starts.
        if m.group("bare") and folded[: m.start()].strip() and not folded[m.end() :].lstrip().startswith(":"):
            continue
        strength = "weak" if m.group("weak") else "strong"
        spans.append((m.start(), m.end(), FindingKind.RECORD_NUMBER, strength))
    for m in _NIR_LABEL.finditer(folded):
        spans.append((m.start(), m.end(), FindingKind.NIR, "nir"))
    for m in _ADDRESS_LABEL.finditer(folded):
        if _ADDRESS_NOT_POSTAL.search(folded[: m.start()]) or _ADDRESS_NOT_POSTAL_AFTER.match(
            folded[m.end() :]
        ):
            continue
        if _at_field_start(folded, m.start(), m.end()):
            spans.append((m.start(), m.end(), FindingKind.POSTAL_ADDRESS, "address"))
    spans.sort()
    return spans


def _tail_is_empty(tail: str) -> bool:
    core = tail.strip(_LABEL_SEPARATORS)
    # One stray character is OCR noise glued to the label (a colon read as "l").
    return len(core) <= 1 or (not any(c.isdigit() for c in core) and tail.rstrip().endswith("/"))


def _analyse(index: int, line: TextLine, results: _Results) -> _Line:
    raw = line.text.strip()
    info = _Line(index=index, raw=raw, folded=_fold(_fix_digits(raw)), ocr=line.confidence)
    mrz = _mrz_rule(raw)
    if mrz is not None:
        info.is_mrz = True
        results.add(info, FindingKind.MRZ, *mrz)
        return info

    folded = info.folded
    labels = _label_spans(folded)
    info.has_labels = bool(labels)
    info.has_name_label = any(kind is FindingKind.PERSON_NAME for _, _, kind, _ in labels)
    # "ne le" is also French prose ("il ne le savait pas"): it marks a form only when it ends the line.
    info.has_birth_label = any(
        kind is FindingKind.BIRTH_DATE and (word != "ne" or _tail_is_empty(folded[end:]))
        for _, end, kind, word in labels
    )
    info.has_other_date_label = bool(_OTHER_DATE_LABEL.search(folded))
    if labels:
        # A line that ends on a label ("Date de naissance", "Nom / Surname") hands it to the next line.
        if _tail_is_empty(folded[max(end for _, end, _, _ in labels) :]):
            info.pending = {kind for _, _, kind, _ in labels}
    elif _GLUED_NAME_LABEL.fullmatch(folded) and folded not in _NOT_GLUED_NAME_LABEL:
        info.pending = {FindingKind.PERSON_NAME}
        info.has_name_label = True

    # Cheap pre-checks keep the regex work for the few lines that can match (100 OCR lines in about 2 ms).
    digits = _count_digits(folded)
    if "@" in folded:
        _match_email(info, results)
    if digits >= 13:
        _match_nir(info, labels, results)
    if digits >= 8:
        _match_phones(info, results)
    if digits >= 3:
        _match_records(info, labels, results)
    if digits >= 4:
        info.dates = _find_dates(_masked(folded, info.masked))
        _match_labelled_dates(info, labels, results)
    if digits or labels:
        _match_addresses(info, labels, results)
    _match_names(info, labels, results)
    return info


def _match_email(info: _Line, results: _Results) -> None:
    for m in _EMAIL.finditer(info.folded):
        info.masked.append(m.span())
        results.add(info, FindingKind.EMAIL, "email", 0.95)


def _match_nir(info: _Line, labels: list[tuple[int, int, FindingKind, str]], results: _Results) -> None:
    text = _masked(info.folded, info.masked)
    for m in _NIR_RE.finditer(text):
        if not _nir_groups_ok(m.group()):
            continue
        body = _NIR_SEPARATORS.sub("", m.group(1)).upper()
        if not _nir_month_ok(body):
            continue
        if m.group(2) is not None:
            if nir_is_valid(body + _NIR_SEPARATORS.sub("", m.group(2))):
                info.masked.append(m.span())
                results.add(info, FindingKind.NIR, "nir-valid-key", 0.97)
            # A wrong key is not a NIR (a misread or another number): nothing is reported for it.
            continue
        if body[0] in "12" and any(
            kind is FindingKind.NIR and end <= m.start() for _, end, kind, _ in labels
        ):
            info.masked.append(m.span())
            results.add(info, FindingKind.NIR, "nir-labelled-no-key", 0.6)


def _match_phones(info: _Line, results: _Results) -> None:
    text = _masked(info.folded, info.masked)
    found: list[tuple[int, int]] = []
    for rule, regex in _PHONE_RULES:
        for m in regex.finditer(text):
            digits = _count_digits(m.group())
            if not 8 <= digits <= 15 or any(s < m.end() and m.start() < e for s, e in found):
                continue
            found.append(m.span())
            results.add(info, FindingKind.PHONE, rule, 0.9)
    for m in _PHONE_LABEL.finditer(text):
        value = _PHONE_LABELLED_VALUE.match(text, m.end())
        if value and 8 <= _count_digits(value.group()) <= 15 and not _find_dates(value.group()):
            found.append(value.span())
            results.add(info, FindingKind.PHONE, "phone-labelled", 0.85)
    info.masked.extend(found)


def _record_value_ok(value: str, strong: bool) -> bool:
    digits = _count_digits(value)
    if not 4 <= len(value) <= 32 or digits < 3 or (not strong and digits < 4):
        return False
    if _find_dates(value) or _TIME.fullmatch(value):
        return False
    # A bare year after a weak label is prose ("le dossier 2023"), not an identifier.
    return strong or not _YEAR.fullmatch(value)


def _match_records(info: _Line, labels: list[tuple[int, int, FindingKind, str]], results: _Results) -> None:
    text = _masked(info.folded, info.masked)
    for _start, end, kind, strength in labels:
        if kind is not FindingKind.RECORD_NUMBER:
            continue
        gap = _RECORD_GAP.match(text, end)
        value_at = gap.end() if gap else end
        value = _RECORD_VALUE.match(text, value_at)
        if value and _record_value_ok(value.group(), strength == "strong"):
            results.add(
                info, FindingKind.RECORD_NUMBER, "record-labelled", 0.9 if strength == "strong" else 0.7
            )


def _match_labelled_dates(
    info: _Line, labels: list[tuple[int, int, FindingKind, str]], results: _Results
) -> None:
    folded = info.folded
    births = [(end, word) for _, end, kind, word in labels if kind is FindingKind.BIRTH_DATE]
    for date in info.dates:
        after = folded[date.end : date.end + 16]
        if not date.compact and _AGE_AFTER.match(after):
            results.add(info, FindingKind.BIRTH_DATE, "birth-date-age", 0.85)
            continue
        label_ends = [(end, word) for end, word in births if end <= date.start]
        if not label_ends:
            continue
        end, word = max(label_ends)
        gap = folded[end : date.start]
        # "né le" is common French ("il ne le fait pas"): only a date right after it counts.
        limit = 4 if word == "ne" else 32
        if len(gap) <= limit and not _OTHER_DATE_LABEL.search(gap) and not _find_dates(gap):
            results.add(info, FindingKind.BIRTH_DATE, "birth-date-labelled", 0.95)


def _match_addresses(info: _Line, labels: list[tuple[int, int, FindingKind, str]], results: _Results) -> None:
    folded, raw = info.folded, info.raw
    street = False
    for m in _STREET_FR.finditer(folded):
        nxt = raw[m.start(1) : m.end(1)]
        if _fold(nxt.strip(_EDGE_PUNCTUATION)) in _STREET_FR_ARTICLES or (
            nxt[:1].isupper() and _token_shape(nxt)
        ):
            street = True
            results.add(info, FindingKind.POSTAL_ADDRESS, "address-street-fr", 0.85)
    for m in _STREET_EN.finditer(raw):
        words = m.group(1).split()
        if _fold(words[0]) not in _STREET_EN_NOT_NAME:
            street = True
            results.add(info, FindingKind.POSTAL_ADDRESS, "address-street-en", 0.8)
    for m in _POSTCODE_CITY.finditer(raw):
        code, city = m.group(1), m.group(2).strip(_EDGE_PUNCTUATION)
        if not m.group(2)[0].isalpha():
            continue
        dept = int(code[:2])
        if not (1 <= dept <= 95 or dept in (97, 98)):
            continue
        if _fold(city) in _POSTCODE_NOT_CITY or not _token_shape(city):
            continue
        # Capitals are how French addresses print the city; "75013 Paris" needs a street on the line.
        if _token_shape(city) == "upper" or street:
            results.add(info, FindingKind.POSTAL_ADDRESS, "address-postcode-city", 0.85)
    for _start, end, kind, _word in labels:
        if kind is FindingKind.POSTAL_ADDRESS and _address_value_ok(
            raw[end : _next_label_start(labels, end, len(raw))]
        ):
            results.add(info, FindingKind.POSTAL_ADDRESS, "address-labelled", 0.8)


def _next_label_start(labels: list[tuple[int, int, FindingKind, str]], end: int, default: int) -> int:
    """Where the value of a label ending at ``end`` stops: at the next label of the line, if any."""
    return min((start for start, _, _, _ in labels if start >= end), default=default)


def _address_value_ok(value: str) -> bool:
    """Whether the value of an address label is a postal address rather than prose or a computer address."""
    value = value.strip(_LABEL_SEPARATORS)
    words = _ADDRESS_WORD.findall(value)
    folded = _fold(value)
    if "@" in value or not words or len(value) > 120 or _ADDRESS_NOT_POSTAL_AFTER.match(folded):
        return False
    if _ADDRESS_EVIDENCE.search(folded):
        return True
    # Places are written with capitals ("Lieu-dit Les Granges, Saint-Aubin"); prose is mostly lower case.
    capitalised = sum(w[0].isupper() for w in words)
    return value[0].isupper() and capitalised >= 2 and capitalised >= 0.6 * len(words)


def _match_names(info: _Line, labels: list[tuple[int, int, FindingKind, str]], results: _Results) -> None:
    raw, folded = info.raw, info.folded
    for m in _TITLE.finditer(raw):
        # "Paul M. Renard": after a first name, "M." is a middle initial, not "Monsieur".
        if m.group("abbr") == "M" and _previous_token_is_name(raw, m.start()):
            continue
        if _name_after_title(m.group("rest")):
            results.add(info, FindingKind.PERSON_NAME, "name-title", 0.85)
    for m in _DOCTOR.finditer(raw):
        # "PR." and "Prof." also end sentences ("... by the PR. Do not"): ask for a surname in capitals
        # or a known first name after them.
        strict = m.group("abbr") in ("Pr", "PR", "Prof")
        if _name_after_title(m.group("rest"), strict=strict):
            results.add(info, FindingKind.PERSON_NAME, "name-title-doctor", 0.6)
    for _start, end, kind, word in labels:
        if kind is not FindingKind.PERSON_NAME:
            continue
        stop = _next_label_start(labels, end, len(raw))
        value = raw[end:stop]
        colon = folded[end:stop].lstrip().startswith(":")
        if _name_value_ok(value, strict=word in _WEAK_NAME_LABELS and not colon):
            results.add(info, FindingKind.PERSON_NAME, "name-labelled", 0.9)
    if "^" in raw and _DICOM_NAME.search(raw):
        results.add(info, FindingKind.PERSON_NAME, "name-dicom-caret", 0.8)
    pair = _name_pairs(raw) if _TWO_CAPITALS.search(raw) else None
    if pair is not None:
        results.add(info, FindingKind.PERSON_NAME, *pair)


# --------------------------------------------------------------------------------------------------
# Cross-line context
# --------------------------------------------------------------------------------------------------


def _is_short_noise(line: _Line) -> bool:
    # Sex markers, single letters and stray symbols that OCR interleaves between a label and its value.
    return len(line.raw.strip(_LABEL_SEPARATORS)) <= 2


def _following(lines: list[_Line], i: int) -> list[tuple[_Line, float]]:
    """The line after ``i``, and the one after that when the first is short noise: (line, distance factor)."""
    out: list[tuple[_Line, float]] = []
    if i + 1 < len(lines):
        out.append((lines[i + 1], 1.0))
        if i + 2 < len(lines) and (_is_short_noise(lines[i + 1]) or lines[i + 1].pending):
            out.append((lines[i + 2], 0.88))
    return out


def _cross_line(lines: list[_Line], results: _Results) -> None:
    for i, line in enumerate(lines):
        if not line.pending:
            continue
        for target, factor in _following(lines, i):
            if target.is_mrz:
                continue
            pending = line.pending
            # A value line holds no label of its own; a date after "Date of issue" is not a birth date.
            if (
                FindingKind.PERSON_NAME in pending
                and not target.has_labels
                and _name_value_ok(target.raw, strict=False)
            ):
                results.add(target, FindingKind.PERSON_NAME, "name-label-above", 0.8 * factor)
            if FindingKind.BIRTH_DATE in pending and target.dates and not target.has_other_date_label:
                results.add(target, FindingKind.BIRTH_DATE, "birth-date-label-above", 0.85 * factor)
            if FindingKind.RECORD_NUMBER in pending and not target.has_labels:
                value = _masked(target.folded, target.masked).strip(_LABEL_SEPARATORS)
                if " " not in value and _record_value_ok(value, strong=True):
                    results.add(target, FindingKind.RECORD_NUMBER, "record-label-above", 0.8 * factor)
            if FindingKind.NIR in pending:
                _nir_label_above(target, results, factor)
            if (
                FindingKind.POSTAL_ADDRESS in pending
                and not target.has_labels
                and _address_value_ok(target.raw)
            ):
                results.add(target, FindingKind.POSTAL_ADDRESS, "address-label-above", 0.7 * factor)


def _nir_label_above(target: _Line, results: _Results, factor: float) -> None:
    for m in _NIR_RE.finditer(target.folded):
        body = _NIR_SEPARATORS.sub("", m.group(1)).upper()
        if m.group(2) is None and body[0] in "12" and _nir_groups_ok(m.group()) and _nir_month_ok(body):
            results.add(target, FindingKind.NIR, "nir-labelled-no-key", 0.6 * factor)


def _context_names(lines: list[_Line], results: _Results) -> None:
    """Unlabelled names from their shape and the patient cues on their line or the next one."""
    cues = [line_cues(line.raw, line.folded) for line in lines]
    cue_at = [
        not line.is_mrz and (bool(line.dates) or cue.patient) for line, cue in zip(lines, cues, strict=True)
    ]
    for i, line in enumerate(lines):
        if line.is_mrz:
            continue
        around = [j for j in (i - 1, i + 1) if 0 <= j < len(lines) and not lines[j].is_mrz]
        near = any(cue_at[j] for j in around)
        near_patient = any(cues[j].patient for j in around)
        hit = find_name(
            line.raw,
            line.folded,
            date_on_line=bool(line.dates),
            near_cue=near,
            cues=cues[i],
            near_patient=near_patient,
        )
        if hit is not None:
            results.add(line, FindingKind.PERSON_NAME, hit.rule, hit.strength)
    # A bed sign or a wristband read as one word a line: "RAKOTO" over "Hery", a date or a bed nearby.
    shapes = [fragment_shape(line.raw) if not line.is_mrz else "" for line in lines]
    for i in range(len(lines) - 1):
        pair = {shapes[i], shapes[i + 1]}
        if "" in pair or not pair & {"upper", "given"} or pair == {"upper"}:
            continue
        if any(cue_at[max(0, i - 1) : i + 3]):
            results.add(lines[i], FindingKind.PERSON_NAME, "name-split-lines", 0.65)
            results.add(lines[i + 1], FindingKind.PERSON_NAME, "name-split-lines", 0.65)


_NAMELESS_PATIENT_KINDS: Final = frozenset(
    {FindingKind.BIRTH_DATE, FindingKind.RECORD_NUMBER, FindingKind.NIR}
)


def _names_in_patient_frame(lines: list[_Line], results: _Results) -> None:
    """A frame that already holds a birth date, a record number or a NIR names its patient too.

    PACS and monitor headers print the name a few lines from the birth date and the ID, and OCR may read
    them in any order, so the neighbouring-line cues miss it: there a line shaped like a whole name counts.
    """
    if not any(kind in _NAMELESS_PATIENT_KINDS for _, kind in results.best):
        return
    for line in lines:
        if line.is_mrz or (line.index, FindingKind.PERSON_NAME) in results.best:
            continue
        if is_name_line(line.raw):
            results.add(line, FindingKind.PERSON_NAME, "name-in-patient-frame", 0.6)


# A 6-10 digit number is a record number only beside a name: alone it is a lot, a serial or a count.
_BARE_ID: Final = re.compile(r"(?<![\w/.:,\-])\d{6,10}(?![\w/.:,]|-\d)")


def _records_beside_names(lines: list[_Line], results: _Results) -> None:
    named = {match.line_index for match in results.best.values() if match.kind is FindingKind.PERSON_NAME}
    for line in lines:
        if line.is_mrz or not named & {line.index - 1, line.index, line.index + 1}:
            continue
        if (line.index, FindingKind.RECORD_NUMBER) in results.best:
            continue
        text = _masked(line.folded, line.masked + [(d.start, d.end) for d in line.dates])
        if _BARE_ID.search(text) and not line_cues(line.raw, line.folded).product:
            results.add(line, FindingKind.RECORD_NUMBER, "record-beside-name", 0.6)


_CONTEXT_NAME_RULES: Final = frozenset(
    {
        "name-title",
        "name-labelled",
        "name-upper-first",
        "name-first-upper",
        "name-comma",
        "name-context",
        "name-context-near",
        "name-initials",
        "name-surname-cue",
        "name-split-lines",
        "name-in-patient-frame",
    }
)


def _document_context(lines: list[_Line], results: _Results) -> None:
    """Inside an identity document or a form (MRZ, name or birth labels), bare dates and names count.

    Outside such a context a bare date is an exam date (endoscopy, ultrasound) and is left alone.
    """
    # A name in a strong shape ("DUPONT Marie" on a wristband) is as good as a name label.
    named = any(
        match.kind is FindingKind.PERSON_NAME and match.rule in _CONTEXT_NAME_RULES
        for match in results.best.values()
    )
    in_document = named or any(line.is_mrz or line.has_name_label or line.has_birth_label for line in lines)
    if not in_document:
        return
    years = [date.year for line in lines for date in line.dates]
    if years:
        # Issue and expiry dates share the page with the birth date; the person was born first.
        earliest = min(years)
        for i, line in enumerate(lines):
            previous = lines[i - 1] if i > 0 else None
            if line.has_other_date_label or (
                previous is not None and previous.has_other_date_label and not previous.has_birth_label
            ):
                continue
            if any(date.year == earliest for date in line.dates):
                results.add(line, FindingKind.BIRTH_DATE, "birth-date-id-document", 0.6)
    for line in lines:
        if not line.is_mrz and not line.has_labels and _title_case_name(line.raw):
            results.add(line, FindingKind.PERSON_NAME, "name-first-last", 0.5)


_KIND_ORDER: Final = MappingProxyType(
    {
        kind: rank
        for rank, kind in enumerate(
            (
                FindingKind.PERSON_NAME,
                FindingKind.BIRTH_DATE,
                FindingKind.NIR,
                FindingKind.RECORD_NUMBER,
                FindingKind.MRZ,
                FindingKind.PHONE,
                FindingKind.EMAIL,
                FindingKind.POSTAL_ADDRESS,
            )
        )
    }
)


# A care facility's name burned into an image (an ultrasound or endoscopy screen, a scanned form) is on
# DICOM's de-identification list (PS3.15 Annex E: InstitutionName). Beside the exam's date or time, or in
# a frame that already points at a patient, it narrows down one visit of one person. Alone (a slide
# footer, a logo) it identifies nobody. French "clinique" is also an adjective ("cas clinique"): only a
# line that starts with it names a facility.
_FACILITY: Final = re.compile(
    r"(?<![a-z])(?:h[oô]pital|hopital|hospital|hosp|chu|chru|chr|ghu|ap-?hp|^\s*clinique|clinic|polyclinique"
    r"|infirmary|centre\s+hospitalier|med(?:ical)?\s*(?:ctr|center|centre)|health\s*(?:center|centre|system)"
    r"|sanatorium|maternit[eé]|klinik(?:um)?|ospedale|hospitalario|krankenhaus)(?![a-z])"
)
_EXAM_TIME: Final = re.compile(r"(?<!\d)\d{1,2}:\d{2}:\d{2}(?!\d)|(?<!\d)\d{1,2}:\d{2}\s?(?:am|pm)(?![a-z])")
# How far from the facility line the exam date or time may be: device headers are a few lines tall.
_FACILITY_WINDOW: Final = 4
_PATIENT_KINDS: Final = frozenset(
    {FindingKind.PERSON_NAME, FindingKind.BIRTH_DATE, FindingKind.NIR, FindingKind.RECORD_NUMBER}
)


def _facility_context(lines: list[_Line], results: _Results) -> None:
    patient = any(match.kind in _PATIENT_KINDS for match in results.best.values())
    for i, line in enumerate(lines):
        # A sentence that mentions a hospital is prose, not a screen header.
        if not _FACILITY.search(line.folded) or len(line.raw.split()) > 10:
            continue
        window = lines[max(0, i - _FACILITY_WINDOW) : i + _FACILITY_WINDOW + 1]
        if any(other.dates or _EXAM_TIME.search(other.folded) for other in window):
            results.add(line, FindingKind.CARE_FACILITY, "facility-with-exam-time", 0.7)
        elif patient:
            results.add(line, FindingKind.CARE_FACILITY, "facility-with-patient", 0.6)


# Identity labels in Chinese, Japanese and Korean forms, wristbands and device screens, each followed by
# its value: names (姓名, 氏名, 성명, or "patient:" 患者/病人/환자), identity and record numbers (身份证号,
# 病历号, 住院号, 门诊号, 护照号, カルテ番号, 患者ID, 등록번호...) and birth dates (出生日期, 生年月日,
# 생년월일). Generic "number" labels (编号, 号码) are left out: they number products and certificates too.
_CJK_NAME_LABEL: Final = re.compile(
    r"(?:姓\s*名|氏\s*名|성\s*명|이\s*름)\s*[:：]?\s*[^\s:：\d]"
    r"|(?:患者|病人|受检者|就诊人|환자)\s*[:：]\s*[^\s:：\d]"
)
_CJK_NUMBER_LABEL: Final = re.compile(
    r"(?:身份证|公民身份号码|证件号|病历号|病案号|住院号|门诊号|登记号|护照号|就诊卡号|医保卡号|社保卡号"
    r"|患者\s*id|病人\s*id|カルテ番号|診察券番号|患者番号|등록번호|환자번호|주민등록번호)"
    r"[^0-9a-z]{0,6}[:：]?\s*[0-9a-z][0-9a-z\-]{4,}",
    re.IGNORECASE,
)
_CJK_BIRTH_LABEL: Final = re.compile(
    r"(?:出生日期|出生年月日?|生年月日|생년월일)\s*[:：]?\s*(?:19|20)?\d{2}\s*[-./年년]\s*\d{1,2}"
)


def _cjk_identity_labels(lines: list[_Line], results: _Results) -> None:
    for line in lines:
        raw = line.raw
        if _CJK_NAME_LABEL.search(raw):
            results.add(line, FindingKind.PERSON_NAME, "name-labelled-cjk", 0.8)
        if _CJK_NUMBER_LABEL.search(raw):
            results.add(line, FindingKind.RECORD_NUMBER, "record-labelled-cjk", 0.8)
        if _CJK_BIRTH_LABEL.search(raw):
            results.add(line, FindingKind.BIRTH_DATE, "birth-date-labelled-cjk", 0.85)


def classify_lines(lines: Sequence[TextLine]) -> list[IdentifierMatch]:
    """Classify OCR lines of one frame into identifier matches, using context across lines.

    Returns at most one match per (line, kind), the strongest, ordered by line then kind. Lines that
    match nothing are absent: the caller treats them as plain text.
    """
    results = _Results()
    analysed = [_analyse(i, line, results) for i, line in enumerate(lines)]
    _cross_line(analysed, results)
    _context_names(analysed, results)
    _cjk_identity_labels(analysed, results)
    _document_context(analysed, results)
    _records_beside_names(analysed, results)
    _names_in_patient_frame(analysed, results)
    _facility_context(analysed, results)
    return sorted(results.best.values(), key=lambda m: (m.line_index, _KIND_ORDER.get(m.kind, 99)))
