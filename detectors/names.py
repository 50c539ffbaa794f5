"""Find person names in short OCR fragments: bed signs, wristbands, monitor and PACS headers.

Names carry no label on most of these pictures, and patients' names come from every origin, so a list
of names alone cannot find them. The rules here combine three weaker signals:

* **structure**: a run of capitalised tokens shaped like a name ("NGUYEN Thi Lan", "SURNAME, Given",
  "J.-P. LE FLOCH", "N'DIAYE A."), with particles (de, van, ben, ould...) allowed inside;
* **context**: a patient cue on the line or the next one (an age, a sex marker, a room or bed label, a
  6-10 digit number, or a date the caller found): capitals beside those are a person far more often
  than a heading;
* **lexicons** compiled for this project (``detectors/lexicons``): a broad list of given names, and a
  negative list of clinical and sign words (drugs, doses, anatomy, devices, scales, wards) that never
  count as a name part. A word with a clinical suffix (-cilline, -ique, -logie...) counts as clinical.

A dose, a lot or an expiry date on the line ("AMOXICILLINE 1 g", "LOT 23B114 EXP 2027-05") marks a
drug or device label: there a name needs a given name from the lexicon.

Pure and synchronous: the lexicons are read once at import, nothing else touches the disk, and rules
return a short rule name, never the text.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Final

from detectors.folding import fold

__all__ = [
    "LineCues",
    "NameHit",
    "find_name",
    "fragment_shape",
    "is_clinical_word",
    "is_given_name",
    "is_name_line",
    "line_cues",
]


def _fold(text: str) -> str:
    """Lower case without accents (the lexicons are stored folded), also outside the Latin table."""
    return fold(text).lower()


def _load(name: str) -> frozenset[str]:
    text = resources.files("detectors.lexicons").joinpath(name).read_text(encoding="utf-8")
    words: set[str] = set()
    for line in text.splitlines():
        words.update(_fold(line.split("#", 1)[0]).split())
    return frozenset(words)


GIVEN_NAMES: Final = _load("given_names.txt")
CLINICAL_WORDS: Final = _load("clinical_words.txt")
#: Everyday words: a run made only of these (and clinical words) is a notice, not a person. They stay
#: name-shaped one by one, for many surnames are everyday words too (Porter, Lefort, Petit).
COMMON_WORDS: Final = _load("common_words.txt") - GIVEN_NAMES

# Surname particles, in any case: "DE LA FONTAINE", "van der Berg", "BEN SALAH", "OULD BRAHIM".
_PARTICLES: Final = frozenset(
    {
        *("de", "da", "di", "do", "du", "des", "dos", "das", "del", "della", "der", "den", "van", "von"),
        *("ter", "ten", "zu", "le", "la", "lo", "el", "al", "ben", "bin", "bint", "ibn", "abu", "ould"),
        *("ait", "mac", "st", "ste", "y", "e"),
    }
)
# Prefixes written on the same token as the name: "al-Hassan", "d'Angelo", "l'Hermite".
_GLUED_PREFIX: Final = re.compile(r"^(?:al|el|ul|ad|as|ar|an|az|ash)-|^[dl]'", re.IGNORECASE)
# Endings of clinical words (drugs by their INN stem, diseases, procedures, adjectives of anatomy).
# Checked only on words of 6 letters or more that are not given names ("Dominique", "Clement").
_CLINICAL_SUFFIX: Final = re.compile(
    r"(?:tion|sion|ment|ique|iques|logie|logue|aire|aires|isme|oire|ectomie|tomie|scopie|graphie|therapie"
    r"|pathie|plastie|algie|emie|ite|ites|ose|oses|ive|ives|able|ible|cilline|cillin|mycine|mycin"
    r"|floxacine|floxacin|azole|prazole|olol|pril|sartan|statine|statin|parine|mab|inib|vir|dipine"
    r"|tidine|semide|cycline|azepam|profene|profen|caine|itis|ology|ectomy|scopy|graphy|ness|ation"
    r")$"
)

_TOKEN_SPLIT: Final = re.compile(r"[\s;/|\\()\[\]{}<>«»\"=:*_^]+|\s[-–—]\s|[–—]")
_INITIAL: Final = re.compile(r"^(?:[A-Z]\.(?:-?[A-Z]\.)*|[A-Z]\.?-[A-Z]\.?)$")
# Boundaries lost by OCR: "DUPONTMarie" and "MarieDUPONT".
_UPPER_THEN_CAP: Final = re.compile(r"(?<=[A-ZÀ-Þ]{2})(?=[A-ZÀ-Þ][a-zß-ÿ])")
_LOWER_THEN_UPPER: Final = re.compile(r"(?<=[a-zß-ÿ]{2})(?=[A-ZÀ-Þ]{2})")
_LETTER_DIGIT: Final = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_]{2})")
# O/0 and I/1 swaps inside a word: "DUP0NT", "MART1N".
_DIGIT_IN_WORD: Final = re.compile(r"^[^\W\d_]+(?:[01][^\W\d_]*)+$|^[01][^\W\d_]{2,}$")

# --- Patient cues, matched on the folded line (lower case, no accents, digit look-alikes fixed) ---
_AGE: Final = re.compile(
    r"(?<![\w/.:,])(\d{1,3})\s?(?:ans?|a|y|yo|y\.o\.?|yrs?|years?)(?![a-z])|(?<![a-z])age\s*:?\s*(\d{1,3})(?!\d)"
)
_SEX_WORD: Final = re.compile(r"(?<![a-z])(?:feminin|masculin|female|male|femme|homme|sexe?)(?![a-z])")
_BED: Final = re.compile(
    r"(?<![a-z])(?:ch|chb|chbre|chambre|lit|bed|room|rm|bay)\.?\s*(?:n\s*[°o]\.?\s*)?"
    r"(?:\d{1,4}[a-z]?|[a-z])(?![a-z0-9])"
)
_ID_NUMBER: Final = re.compile(r"(?<![\d/.:,\-])\d{6,10}(?![\d/.:,]|\-\d)")
# Drug, device and packaging labels: a dose or a unit, a lot, an expiry, a reference.
_LABEL_LINE: Final = re.compile(
    r"(?<![a-z])(?:lot|exp|ref|sn|s/n|batch|peremption|fab|mfg|udi|gtin|cip|ucd)(?![a-z])"
    r"|\d(?:[.,]\d+)?\s?(?:mg|g|kg|µg|mcg|ug|ng|ml|dl|ui|iu|meq|mmol|%|cp|gtt|mmhg|bpm|cm|mm|hz|khz|mhz"
    r"|w|v|ma|kv|mas|l/min|ml/h|mg/h)(?![a-z])"
)
# Sex markers stand alone ("F", "M", "H") or before an age ("F/71"), matched on the original case.
_SEX: Final = re.compile(r"(?<![\w.'’\-^])[FMH](?:\s*/\s*\d{1,3})?(?![\w.'’\-])|[♀♂]")


@dataclass(frozen=True, slots=True)
class LineCues:
    """What a line says about its neighbourhood, apart from names."""

    #: An age, a sex marker, a room or bed label, or a 6-10 digit number: a patient is near.
    patient: bool
    #: A dose, a unit, a lot or an expiry: a drug or device label, where capitals are product names.
    product: bool


@dataclass(frozen=True, slots=True)
class NameHit:
    """A name found on a line: the rule (safe to log) and its strength in 0..1."""

    rule: str
    strength: float


def is_given_name(token: str) -> bool:
    """Whether ``token`` (any case, accents or not) is a lexicon given name (first part if hyphenated)."""
    folded = _fold(token.strip(".,;:'\"()"))
    return folded in GIVEN_NAMES or folded.split("-", 1)[0] in GIVEN_NAMES


#: Letters of French and English words. A token with any other letter ("Sơn", "Şimşek", "Łukasz") is
#: no French or English word, even when it folds to one ("son", "simsek"): it is never clinical or everyday.
_FRENCH_ENGLISH_LETTERS: Final = frozenset("abcdefghijklmnopqrstuvwxyzàâäéèêëîïôöùûüÿçœæ")


def _foreign(token: str) -> bool:
    return any(c.isalpha() and c not in _FRENCH_ENGLISH_LETTERS for c in token.lower())


def is_clinical_word(token: str) -> bool:
    """Whether ``token`` is a clinical, sign or common word that is never part of a name."""
    if _foreign(token):
        return False
    folded = _fold(token.strip(".,;:'\"()"))
    if folded in CLINICAL_WORDS:
        return True
    parts = [p for p in folded.split("-") if p]
    if parts and all(p in CLINICAL_WORDS for p in parts):
        return True
    return len(folded) >= 6 and folded not in GIVEN_NAMES and bool(_CLINICAL_SUFFIX.search(folded))


def line_cues(raw: str, folded: str) -> LineCues:
    """Patient and product cues of one line; ``folded`` is the caller's folded, digit-fixed copy."""
    age = any(int(m.group(1) or m.group(2)) <= 120 for m in _AGE.finditer(folded))
    patient = (
        age
        or bool(_SEX.search(raw))
        or bool(_SEX_WORD.search(folded))
        or bool(_BED.search(folded))
        or bool(_ID_NUMBER.search(folded))
    )
    return LineCues(patient=patient, product=bool(_LABEL_LINE.search(folded)))


# --------------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tok:
    text: str
    # 'upper' DUPONT, 'cap' Marie / N'Diaye, 'lower' marie, 'initial' J.-P., 'particle' de / VAN,
    # 'comma' a comma between two parts, '' anything else (numbers, symbols, clinical words).
    shape: str
    given: bool = False


def _repair(word: str) -> str:
    """Undo O/0, I/1 and S/$ swaps inside a word ("DUP0NT" -> "DUPONT"), keeping the case of the word."""
    if "$" in word and sum(c.isalpha() for c in word) >= 3:
        # OCR reads S, Ş and Ș as "$": in a word of letters it is one ("$IMŞEK", "$TEFANIA").
        word = word.replace("$", "S")
    if not _DIGIT_IN_WORD.match(word) or sum(c.isalpha() for c in word) < 3:
        return word
    upper = sum(c.isupper() for c in word) * 2 >= sum(c.isalpha() for c in word)
    return word.translate(str.maketrans("01", "OI" if upper else "ol"))


@functools.lru_cache(maxsize=8192)
def _shape(word: str) -> str:
    core = word.strip(".,;:'\"")
    if _INITIAL.match(word.strip(",;:")):
        return "initial"
    if _fold(core) in _PARTICLES:
        return "particle"
    core = _GLUED_PREFIX.sub("", core)
    letters = [c for c in core if c.isalpha()]
    if len(letters) < 2 or any(not (c.isalpha() or c in "-'’.") for c in core) or "." in core.strip("."):
        return ""
    if is_clinical_word(core):
        return ""
    if all(c.isupper() for c in letters):
        return "upper"
    if core[0].isupper():
        # Capitals inside are fine after a hyphen or an apostrophe or in Mc/Mac/Di ("N'Diaye", "McLeod").
        return "cap"
    if all(c.islower() for c in letters):
        return "lower"
    return ""


def _unfuse(word: str) -> str:
    """Split capitals fused by OCR at a given name: "WILSONMARGARET" -> "WILSON MARGARET".

    PACS and device headers print SURNAME^GIVEN; OCR often drops the caret and the space with it.
    """
    if len(word) < 7 or not word.isalpha() or not word.isupper():
        return word
    folded = _fold(word)
    if folded in GIVEN_NAMES or is_clinical_word(folded):
        return word
    for cut in range(len(word) - 3, 2, -1):  # the longest given name at the end first
        head, tail = folded[:cut], folded[cut:]
        if tail in GIVEN_NAMES and not is_clinical_word(head) and head not in COMMON_WORDS:
            return f"{word[:cut]} {word[cut:]}"
    for cut in range(len(word) - 3, 2, -1):  # then a given name first: "MARGARETWILSON"
        head, tail = folded[:cut], folded[cut:]
        if head in GIVEN_NAMES and not is_clinical_word(tail) and tail not in COMMON_WORDS:
            return f"{word[:cut]} {word[cut:]}"
    return word


def _tokens(raw: str, *, unfuse: bool = True) -> list[_Tok]:
    text = " ".join((_unfuse if unfuse else str)(_repair(w)) for w in raw.split())
    text = _LOWER_THEN_UPPER.sub(" ", _UPPER_THEN_CAP.sub(" ", text))
    text = _LETTER_DIGIT.sub(" ", text).replace(",", " , ")
    return [_token(piece.strip()) for piece in _TOKEN_SPLIT.split(text) if piece.strip()]


@functools.lru_cache(maxsize=8192)
def _token(word: str) -> _Tok:
    # Cached: video frames and album pages repeat the same words many times.
    if word == ",":
        return _Tok(",", "comma")
    shape = _shape(word)
    return _Tok(word, shape, given=shape in ("upper", "cap", "lower") and is_given_name(word))


def _runs(tokens: list[_Tok]) -> list[tuple[int, int]]:
    """Maximal spans [start, end) of name-shaped tokens; commas, numbers and other words break them."""
    spans: list[tuple[int, int]] = []
    start = None
    previous = ""
    for i, tok in enumerate([*tokens, _Tok("", "")]):
        named = tok.shape in ("upper", "cap", "lower", "initial", "particle")
        # A lower-case word after capitalised ones starts the sentence around the name ("Rm 4: Dương Thu
        # Hà home today"): it ends the run rather than spoiling it.
        prose = tok.shape == "lower" and previous in ("upper", "cap", "initial")
        if start is not None and (not named or prose):
            spans.append((start, i))
            start = None
        if named and start is None:
            start = i
        if tok.shape != "particle":
            previous = tok.shape
    return spans


def _everyday(core: list[_Tok]) -> bool:
    """Whether a run's words are all everyday or clinical words, with no given name among them."""
    return not any(t.given for t in core) and all(
        not _foreign(t.text) and _fold(t.text.strip(".,;:'\"")) in COMMON_WORDS for t in core
    )


def _core(tokens: list[_Tok]) -> list[_Tok]:
    return [t for t in tokens if t.shape in ("upper", "cap", "lower")]


# --------------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------------


def _comma_form(tokens: list[_Tok], left: tuple[int, int], right: tuple[int, int], cue: bool) -> float:
    """Strength of "SURNAME, Given" (0 when it is not one)."""
    surname, given = tokens[left[0] : left[1]], tokens[right[0] : right[1]]
    s_core, g_core = _core(surname), _core(given)
    if _everyday(s_core + g_core):
        return 0.0
    if not 1 <= len(s_core) <= 3 or len(given) > 4 or not given or len(surname) > 4:
        return 0.0
    if any(t.shape == "lower" for t in s_core) or given[0].shape == "particle":
        return 0.0
    lexicon = any(t.given for t in g_core)
    if any(t.shape == "lower" for t in g_core) and not lexicon:
        return 0.0
    upper_surname = all(t.shape == "upper" for t in s_core)
    if upper_surname and given[0].shape in ("cap", "initial"):
        return 0.85
    if upper_surname and (lexicon or cue):
        return 0.8
    if upper_surname:
        return 0.7
    # "Martin, Claire" looks like any list of capitalised words (places, authors): it needs a given name
    # and a patient cue or a date.
    return 0.75 if lexicon and cue else 0.0


def _run_strength(run: list[_Tok], *, on_line: bool, near: bool, strong_cue: bool) -> tuple[str, float]:
    """Strength of a run of name tokens given the cues around it ("", 0.0 when it is not a name)."""
    core = _core(run)
    shapes = {t.shape for t in core}
    lexicon = any(t.given for t in core)
    initials = any(t.shape == "initial" for t in run)
    if not core or len(run) > 6 or (run[0].shape == "particle" and len(core) < 2) or _everyday(core):
        return ("", 0.0)
    if initials and "lower" not in shapes:
        if "upper" in shapes:
            return ("name-initials", 0.8 if on_line or near else 0.7)
        return ("name-initials", 0.65) if on_line or lexicon else ("", 0.0)
    if len(core) < 2:
        return ("", 0.0)
    if not (on_line or near):
        return ("", 0.0)
    rule = "name-context" if on_line else "name-context-near"
    scale = 1.0 if on_line else 0.88
    if "lower" in shapes:
        # Lower-case drift ("dupont marie 12/03/1953"): only a short run holding a given name.
        ok = lexicon and len(core) <= 3 and shapes == {"lower"} and on_line
        return (rule, 0.6) if ok else ("", 0.0)
    if "upper" in shapes:
        # Capitals of two or three letters beside a date are mostly acronyms ("Congrès de la SFD, 5 mai
        # 2024"); short surnames (LY, NG, SY) still count with a given name or a patient cue.
        short = all(len(t.text.strip(".,")) <= 3 for t in core if t.shape == "upper")
        if short and not lexicon and not strong_cue:
            return ("", 0.0)
        return (rule, round((0.85 if lexicon else 0.8) * scale, 3))
    # Title case only ("Agnieszka Kowalska"): headings look the same, so a given name or a patient cue
    # (not just a date) on the line is needed.
    if lexicon:
        return (rule, round(0.75 * scale, 3))
    return (rule, 0.65) if strong_cue else ("", 0.0)


_NOT_LETTER: Final = re.compile(r"[\W\d_]+")


def find_name(
    raw: str,
    folded: str,
    *,
    date_on_line: bool,
    near_cue: bool,
    cues: LineCues | None = None,
    near_patient: bool = False,
) -> NameHit | None:
    """The strongest name on one OCR line, or None.

    ``folded`` is the caller's lower-case, accent-free, digit-fixed copy of ``raw``; ``date_on_line`` says
    whether the caller found a date on the line, ``near_cue`` whether the line before or after holds a
    patient cue or a date, ``near_patient`` whether it holds a patient cue (an age, a sex, a bed, a record
    number: not just a date); ``cues`` is :func:`line_cues` of the line when the caller has it already.
    """
    if len(_NOT_LETTER.sub("", raw)) < 4:
        return None
    if cues is None:
        cues = line_cues(raw, folded)
    tokens = _tokens(raw)
    words = [t for t in tokens if t.shape != "comma"]
    # Prose and long headings are not fragments: leave them to the labelled and titled rules.
    if len(words) > 12:
        return None
    on_line = cues.patient or date_on_line
    best: NameHit | None = None

    def offer(rule: str, strength: float, run: list[_Tok]) -> None:
        nonlocal best
        if not strength:
            return
        # On a drug or device label, capitals are product names unless one is a known given name.
        if cues.product and not any(t.given for t in run):
            return
        if best is None or strength > best.strength:
            best = NameHit(rule, strength)

    runs = _runs(tokens)
    # A sentence ("Paul M. Renard contributed to this chapter") names authors and staff, not patients:
    # in prose, a name needs a patient cue on its own line.
    prose = sum(t.shape == "lower" for t in tokens) >= 2 and not on_line
    for a, b in itertools.pairwise(runs):
        if a[1] < len(tokens) and tokens[a[1]].shape == "comma" and b[0] == a[1] + 1:
            strength = _comma_form(tokens, a, b, on_line)
            offer("name-comma", strength, tokens[a[0] : b[1]])
    for start, end in [] if prose else runs:
        run = tokens[start:end]
        rule, strength = _run_strength(
            run, on_line=on_line, near=near_cue, strong_cue=cues.patient or near_patient
        )
        offer(rule, strength, run)
        core = _core(run)
        # One surname in capitals with an age, or with a date and another patient cue: "DUPONT 71 ans".
        if (
            len(core) == 1
            and len(run) <= 3
            and core[0].shape == "upper"
            and len(core[0].text) >= 4
            and not _everyday(core)
            and (_AGE.search(folded) or (date_on_line and cues.patient))
        ):
            offer("name-surname-cue", 0.6, run)
    return best


def fragment_shape(raw: str) -> str:
    """'upper', 'cap' or 'given' when the line is one name-shaped word (a bed sign split over lines), else ''.

    'given' is a capitalised word from the given-name lexicon; 'cap' another capitalised word.
    """
    if len(raw.split()) != 1:
        return ""
    tokens = _tokens(raw, unfuse=False)  # a word alone on its line is one name part, fused or not
    if len(tokens) != 1:
        return ""
    tok = tokens[0]
    if _everyday([tok]):
        return ""
    if tok.shape == "upper" and sum(c.isalpha() for c in tok.text) >= 2:
        return "given" if tok.given else "upper"
    if tok.shape == "cap":
        return "given" if tok.given else "cap"
    return ""


def is_name_line(raw: str) -> bool:
    """Whether the whole line is shaped like one person's name: "MÉTELLUS FRANTZ", "NOWAK, Anna".

    Two to four name words, at least one in capitals, nothing else but particles, initials and a comma.
    For frames that already name a patient by other means (a birth date, a record number): there, such a
    line is the name that goes with them, as on PACS and monitor headers.
    """
    tokens = _tokens(raw)
    core = _core(tokens)
    if not 2 <= len(core) <= 4 or _everyday(core):
        return False
    if any(t.shape not in ("upper", "cap", "initial", "particle", "comma") for t in tokens):
        return False
    return any(t.shape == "upper" and len(t.text) >= 3 for t in core)
