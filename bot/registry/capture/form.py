"""The signed form as the browser posts it: read, checked, and turned into a :class:`SignedForm` (pure).

Every problem is reported at once, by field, so that the page can show them all; nothing here raises on
what a person typed.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from bot.consent.model import Purpose

#: Durations offered, in days (those up to the registry's longest validity), and the default.
DURATIONS = (7, 30, 90, 180, 365)
DEFAULT_DAYS = 90
#: Largest drawn signature accepted (PNG bytes); a phone's canvas gives 10 to 60 KiB.
MAX_SIGNATURE_BYTES = 300 * 1024
#: Longest name accepted.
MAX_NAME = 200
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_DATA_URL = re.compile(r"^data:image/png;base64,(?P<data>[A-Za-z0-9+/=\s]+)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Signer(enum.StrEnum):
    """Who signs the form."""

    PATIENT = "patient"
    GUARDIAN = "guardian"


class SignatureKind(enum.StrEnum):
    """How the form was signed."""

    DRAWN = "drawn"
    TYPED = "typed"


class FormProblem(enum.StrEnum):
    """What is wrong with a posted form (each maps to a sentence of the page)."""

    CSRF = "csrf"
    PURPOSE = "purpose"
    DAYS = "days"
    IMAGES = "images"
    PATIENT_NAME = "patient_name"
    GUARDIAN_NAME = "guardian_name"
    SIGNATURE = "signature"
    SIGNATURE_IMAGE = "signature_image"
    AGREE = "agree"


@dataclass(frozen=True, slots=True, repr=False)
class SignedForm:
    """What the signer filled in and signed. Its repr shows no name and no signature."""

    purposes: frozenset[Purpose]
    days: int
    max_images: int
    signer: Signer
    patient_name: str
    guardian_name: str | None
    signature_kind: SignatureKind
    signature: bytes  # the PNG of a drawn signature, or the typed name in UTF-8

    def __repr__(self) -> str:
        return (
            f"SignedForm(purposes={sorted(self.purposes)!r}, days={self.days}, max_images={self.max_images}, "
            f"signer={self.signer.value!r}, signature_kind={self.signature_kind.value!r}, names=<redacted>)"
        )


@dataclass(frozen=True, slots=True)
class FormInput:
    """The raw values, kept to fill the form again when it is refused (the signature image is not)."""

    purposes: frozenset[str]
    days: str
    max_images: str
    signer: str
    patient_name: str
    guardian_name: str
    typed_signature: str
    signature_png: str  # the drawn signature's data URL when it was readable, to paint it back

    def __repr__(self) -> str:
        return "FormInput(<redacted>)"


def durations_up_to(max_days: int) -> tuple[int, ...]:
    """The durations offered under the registry's longest validity (that validity itself when none fits)."""
    offered = tuple(days for days in DURATIONS if days <= max_days)
    return offered or (max_days,)


def default_days(max_days: int) -> int:
    """The duration selected at first."""
    offered = durations_up_to(max_days)
    return DEFAULT_DAYS if DEFAULT_DAYS in offered else offered[-1]


def read_form(
    fields: Mapping[str, Sequence[str]], *, max_days: int, max_images: int
) -> tuple[FormInput, SignedForm | None, list[FormProblem]]:
    """Check the posted fields; return them as typed, the signed form (None if refused) and the problems."""

    def first(name: str) -> str:
        values = fields.get(name) or [""]
        return values[0]

    raw = FormInput(
        purposes=frozenset(fields.get("purposes") or ()),
        days=first("days"),
        max_images=first("max_images"),
        signer=first("signer"),
        patient_name=_clean(first("patient_name")),
        guardian_name=_clean(first("guardian_name")),
        typed_signature=_clean(first("typed_signature")),
        signature_png="",
    )
    problems: list[FormProblem] = []
    purposes = frozenset(p for p in Purpose if p.value in raw.purposes)
    if not purposes or len(purposes) != len(raw.purposes):
        problems.append(FormProblem.PURPOSE)
    days = _integer(raw.days)
    if days is None or days not in durations_up_to(max_days):
        problems.append(FormProblem.DAYS)
    images = _integer(raw.max_images)
    if images is None or not 1 <= images <= max_images:
        problems.append(FormProblem.IMAGES)
    signer = Signer.GUARDIAN if raw.signer == Signer.GUARDIAN.value else Signer.PATIENT
    if not raw.patient_name or len(raw.patient_name) > MAX_NAME:
        problems.append(FormProblem.PATIENT_NAME)
    if signer is Signer.GUARDIAN and (not raw.guardian_name or len(raw.guardian_name) > MAX_NAME):
        problems.append(FormProblem.GUARDIAN_NAME)
    signature: bytes | None = None
    kind = SignatureKind.DRAWN
    if first("signature_png").strip():
        signature = _png(first("signature_png"))
        if signature is None:
            problems.append(FormProblem.SIGNATURE_IMAGE)
        else:
            raw = replace(raw, signature_png=first("signature_png").strip())
    elif raw.typed_signature and len(raw.typed_signature) <= MAX_NAME:
        kind, signature = SignatureKind.TYPED, raw.typed_signature.encode()
    else:
        problems.append(FormProblem.SIGNATURE)
    # The box must be ticked by hand: only the exact value the checkbox sends counts.
    if first("agree") != "yes":
        problems.append(FormProblem.AGREE)
    if problems or days is None or images is None or signature is None:
        return raw, None, problems
    return (
        raw,
        SignedForm(
            purposes=purposes,
            days=days,
            max_images=images,
            signer=signer,
            patient_name=raw.patient_name,
            guardian_name=raw.guardian_name if signer is Signer.GUARDIAN else None,
            signature_kind=kind,
            signature=signature,
        ),
        [],
    )


def _clean(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())


def _integer(text: str) -> int | None:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        return None
    return int(text)


def _png(data_url: str) -> bytes | None:
    match = _DATA_URL.match(data_url.strip())
    if match is None or len(match["data"]) > MAX_SIGNATURE_BYTES * 4 // 3 + 16:
        return None
    try:
        data = base64.b64decode(re.sub(r"\s", "", match["data"]), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not data.startswith(_PNG_MAGIC) or len(data) > MAX_SIGNATURE_BYTES:
        return None
    return data
