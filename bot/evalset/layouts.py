"""Renderers of the objects photographed: signs, wristbands, screens, stickers, tubes, whiteboards.

Each layout draws either a positive (a patient's name, with or without field labels) or a harmless
negative of the same look. A renderer returns the flat object and everything the labels need: the text it
drew, the font, the em size of the identifying text, whether a barcode was drawn. The scene around it and
the photo degradations come later (``degrade``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from bot.evalset.fonts import FontFile, font_for, fonts_of_style
from bot.evalset.names import Person

RGB = tuple[int, int, int]
BLACK: RGB = (20, 20, 24)
WHITE: RGB = (250, 250, 248)

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(slots=True)
class Context:
    """What a renderer may use: seeded generators, the reference year, the language of the image."""

    rng: random.Random
    nrng: np.random.Generator
    reference_year: int
    language: str  # "fr" or "en"

    def pick(self, options: Sequence[str]) -> str:
        """One of the options."""
        return self.rng.choice(list(options))

    def weighted(self, options: dict[str, float]) -> str:
        """One of the keys, with the values as weights."""
        return self.rng.choices(list(options), weights=list(options.values()))[0]


@dataclass(slots=True)
class Drawn:
    """A rendered object and the facts its label row is built from."""

    image: Image.Image
    lines: list[str]
    font: str
    text_px: int
    identifying: bool
    labelled: bool = False
    barcode: bool = False
    name_format: str | None = None
    screen: bool = False


@dataclass(slots=True)
class Line:
    """One line of a card: text, size relative to the card's base size, weight, colour."""

    text: str
    size: float = 1.0
    bold: bool = False
    color: RGB | None = None
    identifying: bool = False
    gap: float = 0.35


@dataclass(slots=True)
class Card:
    """A flat rectangle with lines of text, optionally a coloured band and a barcode on the right."""

    lines: list[Line]
    base: int = 44
    style: str = "sans"
    bg: RGB = WHITE
    fg: RGB = BLACK
    border: RGB | None = None
    band: RGB | None = None
    align: str = "left"
    pad: float = 0.8
    min_width: int = 0
    min_aspect: float = 0.0
    code: np.ndarray | None = None
    extra_right: int = 0
    jitter_deg: float = 0.0
    fonts_used: list[str] = field(default_factory=list)


# --- names, dates, numbers ---------------------------------------------------------------------------


def initials(given: str) -> str:
    """Initials of a given name: "Jean-Pierre" -> "J.-P.", "Thị Lan" -> "T. L."."""
    words = given.split(" ")
    return " ".join("-".join(part[:1] + "." for part in word.split("-")) for word in words)


def title_of(person: Person, language: str, rng: random.Random) -> str:
    """A courtesy title in the image's language."""
    if language == "fr":
        return "Mme" if person.sex == "F" else rng.choice(("M.", "Mr"))
    return rng.choice(("Mrs", "Ms")) if person.sex == "F" else "Mr"


def format_name(ctx: Context, person: Person, fmt: str) -> str:
    """The name written one of the ways found on wards."""
    surname_up = person.surname.upper()
    given = person.given
    if fmt == "SURNAME Given":
        return f"{surname_up} {given}"
    if fmt == "Given SURNAME":
        return f"{given} {surname_up}"
    if fmt == "SURNAME, Given":
        return f"{surname_up}, {given}"
    if fmt == "I. SURNAME":
        return f"{initials(given)} {surname_up}"
    if fmt == "Title SURNAME Given":
        return f"{title_of(person, ctx.language, ctx.rng)} {surname_up} {given}"
    if fmt == "Title SURNAME":
        return f"{title_of(person, ctx.language, ctx.rng)} {surname_up}"
    if fmt == "Surname Given":
        return f"{person.surname} {given}"
    if fmt == "SURNAME^GIVEN":
        return f"{surname_up}^{given.upper()}".replace(" ", "^" if ctx.rng.random() < 0.3 else " ")
    if fmt == "SURNAME GIVEN":
        return f"{surname_up} {given.upper()}"
    raise ValueError(fmt)


def format_date(ctx: Context, ymd: tuple[int, int, int], style: str | None = None) -> str:
    """A date as French, English or DICOM-style overlays write it."""
    year, month, day = ymd
    style = style or ("fr" if ctx.language == "fr" else ctx.pick(("iso", "en")))
    if style == "fr":
        return f"{day:02d}/{month:02d}/{year}"
    if style == "iso":
        return f"{year}-{month:02d}-{day:02d}"
    if style == "dicom":
        return f"{year}{month:02d}{day:02d}"
    return f"{day:02d} {MONTHS_EN[month - 1]} {year}"


def exam_date(ctx: Context) -> tuple[int, int, int]:
    """A date in the reference year or the one before."""
    return (ctx.reference_year - ctx.rng.randint(0, 1), ctx.rng.randint(1, 12), ctx.rng.randint(1, 28))


def lot_number(rng: random.Random) -> str:
    """A lot number like "23B114"."""
    return f"{rng.randint(19, 29)}{rng.choice('ABCDEFGHKLMNPRT')}{rng.randint(100, 999)}"


def expiry(ctx: Context) -> str:
    """An expiry month after the reference year."""
    year, month = ctx.reference_year + ctx.rng.randint(0, 3), ctx.rng.randint(1, 12)
    return ctx.pick((f"{year}-{month:02d}", f"{month:02d}/{year}", f"{month:02d}-{year % 100:02d}"))


def room(ctx: Context) -> str:
    """A room and bed header."""
    number, bed = ctx.rng.randint(1, 480), ctx.pick("ABCD12")
    if ctx.language == "en":
        return ctx.pick((f"Room {number} – Bed {bed}", f"Bay {ctx.rng.randint(1, 9)} Bed {bed}"))
    return ctx.pick((f"Ch. {number} – Lit {bed}", f"Chambre {number}", f"CH {number} LIT {bed}"))


# --- drawing helpers -----------------------------------------------------------------------------------


def _pick_fonts(ctx: Context, style: str, texts: list[str]) -> tuple[FontFile, FontFile]:
    regular = font_for(fonts_of_style(style), ctx.rng.randrange(64), texts)
    bold = font_for(fonts_of_style("bold"), ctx.rng.randrange(64), texts)
    return regular, bold


def _text_size(draw: ImageDraw.ImageDraw, text: str, font: object) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)  # type: ignore[arg-type]
    return int(right - left), int(bottom - top)


def barcode_array(content: str, kind: str) -> np.ndarray:
    """A 1D (Code 128) or 2D (DataMatrix) code as a 0/255 array with its quiet zone."""
    import zxingcpp

    fmt = zxingcpp.BarcodeFormat.Code128 if kind == "code128" else zxingcpp.BarcodeFormat.DataMatrix
    return np.asarray(zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(content, fmt)))


def render_card(ctx: Context, card: Card) -> tuple[Image.Image, FontFile, int]:
    """Draw a card; returns the image, the font of the (first) identifying line, and their em size."""
    regular, bold = _pick_fonts(ctx, card.style, [line.text for line in card.lines])
    probe = ImageDraw.Draw(Image.new("RGB", (8, 8)))
    sizes = [max(10, round(card.base * line.size)) for line in card.lines]
    fonts = [
        (bold if line.bold else regular).load(size) for line, size in zip(card.lines, sizes, strict=True)
    ]
    metrics = [_text_size(probe, line.text, font) for line, font in zip(card.lines, fonts, strict=True)]
    pad = round(card.base * card.pad)
    band = round(card.base * 0.5) if card.band else 0
    text_w = max(w for w, _ in metrics)
    height = (
        band
        + 2 * pad
        + sum(round(s * 1.15) + round(s * line.gap) for s, line in zip(sizes, card.lines, strict=True))
    )
    code_w = 0
    code_img: Image.Image | None = None
    if card.code is not None:
        scale = max(1, round((height - band - pad) / card.code.shape[0] * 0.8))
        if card.code.shape[0] < card.code.shape[1] / 1.5:  # a 1D code: as tall as the text block allows
            scale = max(2, round(card.base / 10))
        code = np.kron(card.code, np.ones((scale, scale), dtype=np.uint8))
        code_img = Image.fromarray(code).convert("RGB")
        code_w = code_img.width + pad
    width = max(card.min_width, text_w + 2 * pad + code_w + card.extra_right)
    if card.code is not None and code_img is not None:
        height = max(height, band + code_img.height + 2 * pad)
    width = max(width, round(height * card.min_aspect))
    image = Image.new("RGB", (width, height), card.bg)
    draw = ImageDraw.Draw(image)
    if card.band:
        draw.rectangle((0, 0, width, band), fill=card.band)
    if card.border:
        draw.rectangle((0, 0, width - 1, height - 1), outline=card.border, width=max(2, card.base // 8))
    y = band + pad
    for line, size, font, (w, _) in zip(card.lines, sizes, fonts, metrics, strict=True):
        x = pad
        if card.align == "center":
            x = (width - code_w - w) // 2
        if card.jitter_deg:
            layer = Image.new("L", (w + size, round(size * 1.6)), 0)
            ImageDraw.Draw(layer).text((size // 2, round(size * 0.2)), line.text, fill=255, font=font)
            layer = layer.rotate(
                ctx.rng.uniform(-card.jitter_deg, card.jitter_deg), resample=Image.Resampling.BICUBIC
            )
            image.paste(Image.new("RGB", layer.size, line.color or card.fg), (x - size // 2, y), layer)
        else:
            draw.text((x, y), line.text, fill=line.color or card.fg, font=font)
        y += round(size * 1.15) + round(size * line.gap)
    if code_img is not None:
        image.paste(code_img, (width - code_img.width - pad, band + (height - band - code_img.height) // 2))
    ident = [s for s, line in zip(sizes, card.lines, strict=True) if line.identifying]
    main = next((line for line in card.lines if line.identifying), card.lines[0])
    return image, bold if main.bold else regular, min(ident) if ident else max(sizes)


def _drawn(ctx: Context, card: Card, **facts: object) -> Drawn:
    image, font, text_px = render_card(ctx, card)
    lines = [line.text for line in card.lines]
    return Drawn(image=image, lines=lines, font=font.family, text_px=text_px, **facts)  # type: ignore[arg-type]


def _pastel(rng: random.Random) -> RGB:
    return (rng.randint(215, 252), rng.randint(215, 252), rng.randint(215, 252))


# --- layouts -------------------------------------------------------------------------------------------


def bed_sign(ctx: Context, person: Person | None) -> Drawn:
    """A door or bed-head sign: room and bed, then the patient's name (or a care instruction)."""
    lines = [Line(room(ctx), size=0.8, gap=0.6)]
    fmt = None
    if person is not None:
        fmt = ctx.weighted(
            {
                "SURNAME Given": 4,
                "Title SURNAME Given": 2,
                "Given SURNAME": 2,
                "Title SURNAME": 1,
                "I. SURNAME": 1,
            }
        )
        lines.append(Line(format_name(ctx, person, fmt), size=1.2, bold=True, identifying=True))
        if ctx.rng.random() < 0.5:
            born = format_date(ctx, person.birth)
            lines.append(Line(f"Né(e) le {born}" if ctx.language == "fr" else f"DOB {born}", size=0.8))
    else:
        instruction = ctx.pick(
            ("ISOLEMENT CONTACT", "À JEUN", "RISQUE DE CHUTE", "Précautions gouttelettes", "Port du masque")
            if ctx.language == "fr"
            else ("CONTACT PRECAUTIONS", "NIL BY MOUTH", "FALLS RISK", "Droplet precautions")
        )
        lines.append(Line(instruction, size=1.2, bold=True))
    if ctx.rng.random() < 0.4:
        day, month = ctx.rng.randint(1, 28), ctx.rng.randint(1, 12)
        lines.append(
            Line(f"Entrée le {day:02d}/{month:02d}" if ctx.language == "fr" else f"Adm. {day}/{month}")
        )
    card = Card(
        lines,
        base=ctx.rng.randint(40, 60),
        style=ctx.pick(("sans", "sans", "serif")),
        bg=_pastel(ctx.rng),
        border=ctx.rng.choice((None, (40, 90, 160), (120, 120, 120))),
        band=ctx.rng.choice((None, (40, 90, 160), (0, 130, 110))),
        align=ctx.pick(("left", "center")),
        min_aspect=1.3,
    )
    return _drawn(ctx, card, identifying=person is not None, name_format=fmt)


def wristband(ctx: Context, person: Person | None) -> Drawn:
    """A wristband strip: name, birth date, sex, record number, maybe a barcode (or an alert band)."""
    if person is None:
        color, lines_text = ctx.rng.choice(
            [
                ((235, 70, 60), ["ALLERGIE", ctx.pick(("PÉNICILLINE", "LATEX", "IODE", "AINS"))]),
                ((250, 215, 40), ["RISQUE DE CHUTE"]),
                ((235, 70, 60), ["ALLERGY", ctx.pick(("PENICILLIN", "LATEX", "NUTS"))]),
                ((150, 90, 180), ["NE PAS PRÉLEVER", "BRAS GAUCHE"]),
                ((90, 170, 90), ["DIABÈTE", "Insuline"]),
            ]
        )
        lines = [Line(t, size=1.0 if i == 0 else 0.8, bold=i == 0) for i, t in enumerate(lines_text)]
        card = Card(lines, base=ctx.rng.randint(34, 46), bg=color, min_aspect=5.0, pad=0.5)
        return _drawn(ctx, card, identifying=False)
    fmt = ctx.weighted({"SURNAME Given": 5, "SURNAME, Given": 2, "SURNAME GIVEN": 2, "Given SURNAME": 1})
    name = format_name(ctx, person, fmt)
    born = format_date(ctx, person.birth)
    sex = (
        person.sex
        if ctx.language == "en" or ctx.rng.random() < 0.6
        else ("Féminin" if person.sex == "F" else "Masculin")
    )
    number = ctx.pick((f"IPP {person.ipp}", person.ipp, f"N° {person.ipp}", f"MRN {person.ipp}"))
    if ctx.rng.random() < 0.5:
        lines = [Line(name, bold=True, identifying=True), Line(f"{born}   {sex}   {number}", size=0.8)]
    else:
        lines = [Line(f"{name}   {born}   {sex}", identifying=True), Line(number, size=0.8)]
    with_code = ctx.rng.random() < 0.4
    code = barcode_array(person.ipp, ctx.pick(("code128", "code128", "datamatrix"))) if with_code else None
    card = Card(
        lines,
        base=ctx.rng.randint(30, 42),
        style=ctx.pick(("sans", "mono", "sans")),
        bg=ctx.rng.choice((WHITE, (235, 240, 250), (250, 235, 240))),
        min_aspect=5.0,
        pad=0.5,
        code=code,
    )
    return _drawn(ctx, card, identifying=True, barcode=with_code, name_format=fmt)


def _waveform(ctx: Context, draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], color: RGB) -> None:
    x0, y0, x1, y1 = box
    period = ctx.rng.uniform(60, 140)
    phase = ctx.rng.uniform(0, period)
    points = []
    for x in range(x0, x1, 3):
        t = ((x + phase) % period) / period
        spike = 1.0 if 0.10 < t < 0.13 else (-0.3 if 0.13 <= t < 0.16 else 0.15 * np.sin(t * 2 * np.pi))
        points.append((x, round((y0 + y1) / 2 - spike * (y1 - y0) / 2.4)))
    draw.line(points, fill=color, width=3)


def _vitals(ctx: Context) -> list[tuple[str, RGB]]:
    hr, spo2 = ctx.rng.randint(48, 130), ctx.rng.randint(86, 100)
    sys_bp, dia_bp = ctx.rng.randint(90, 170), ctx.rng.randint(45, 100)
    fr = ctx.language == "fr"
    return [
        (f"{'FC' if fr else 'HR'} {hr}", (60, 230, 90)),
        (f"SpO2 {spo2} %", (80, 200, 250)),
        (f"{'PA' if fr else 'NIBP'} {sys_bp}/{dia_bp} ({(sys_bp + 2 * dia_bp) // 3})", (240, 240, 240)),
        (f"{'FR' if fr else 'RR'} {ctx.rng.randint(10, 30)}", (250, 220, 60)),
        (f"T {ctx.rng.randint(355, 395) / 10:.1f} °C".replace(".", "," if fr else "."), (250, 150, 60)),
    ]


def monitor(ctx: Context, person: Person | None) -> Drawn:
    """A bedside monitor: a header bar (patient or bed), waveforms and vital signs."""
    width, height = ctx.rng.randint(1100, 1400), ctx.rng.randint(700, 860)
    image = Image.new("RGB", (width, height), (8, 10, 14))
    draw = ImageDraw.Draw(image)
    header_size = ctx.rng.randint(30, 40)
    fmt = None
    if person is not None:
        fmt = ctx.weighted({"SURNAME, Given": 4, "SURNAME Given": 3, "Given SURNAME": 1})
        name = format_name(ctx, person, fmt)
        age = person.age(ctx.reference_year)
        age_text = f"{age} ans" if ctx.language == "fr" else ctx.pick((f"{age}y", f"{age} yrs"))
        number = ctx.pick((person.ipp, f"IPP {person.ipp}", f"MRN {person.ipp}"))
        header = f"{name}   {person.sex}   {age_text}   {number}"
    else:
        header = ctx.pick(
            (
                f"Lit {ctx.rng.randint(1, 24)}   ADULTE   Alarmes : ON",
                f"Bed {ctx.rng.randint(1, 24)}   ADULT   Alarms ON",
                f"Réa B – Lit {ctx.rng.randint(1, 24)}   PÉDIATRIE",
            )
        )
    clock = f"{ctx.rng.randint(0, 23):02d}:{ctx.rng.randint(0, 59):02d}"
    regular, bold = _pick_fonts(ctx, ctx.pick(("sans", "mono")), [header, "SpO2 °C"])
    while header_size > 18 and _text_size(draw, header, regular.load(header_size))[0] > width - 190:
        header_size -= 2
    bar = round(header_size * 1.7)
    draw.rectangle((0, 0, width, bar), fill=ctx.rng.choice(((30, 60, 110), (40, 40, 48), (20, 80, 80))))
    draw.text((20, (bar - header_size) // 2), header, fill=WHITE, font=regular.load(header_size))
    draw.text((width - 130, (bar - header_size) // 2), clock, fill=WHITE, font=regular.load(header_size))
    vitals = _vitals(ctx)
    left_w = round(width * 0.62)
    rows = 3
    row_h = (height - bar - 20) // rows
    for i in range(rows):
        color = vitals[i][1]
        _waveform(ctx, draw, (20, bar + 10 + i * row_h, left_w, bar + (i + 1) * row_h - 10), color)
    vital_size = ctx.rng.randint(44, 60)
    widest = max((text for text, _ in vitals), key=len)
    while vital_size > 20 and _text_size(draw, widest, bold.load(vital_size))[0] > width - left_w - 50:
        vital_size -= 2
    vital_font = bold.load(vital_size)
    for i, (text, color) in enumerate(vitals):
        draw.text((left_w + 30, bar + 20 + i * (height - bar) // 5), text, fill=color, font=vital_font)
    lines = [header, clock, *(text for text, _ in vitals)]
    return Drawn(image, lines, regular.family, header_size, person is not None, name_format=fmt, screen=True)


def _xray(ctx: Context, width: int, height: int) -> Image.Image:
    small_w, small_h = width // 8, height // 8
    yy, xx = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
    cx, cy = small_w * ctx.rng.uniform(0.4, 0.6), small_h * ctx.rng.uniform(0.45, 0.6)
    r = ((xx - cx) / (small_w * 0.35)) ** 2 + ((yy - cy) / (small_h * 0.42)) ** 2
    body = np.clip(1.2 - r, 0, 1) * 170
    lungs = np.exp(-(((xx - cx) ** 2 - (small_w * 0.15) ** 2) ** 2) / (small_w**4 * 0.002)) * 40
    field_ = body - lungs + ctx.nrng.normal(0, 6, body.shape)
    return Image.fromarray(np.clip(field_, 0, 255).astype(np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC
    )


def pacs(ctx: Context, person: Person | None) -> Drawn:
    """An imaging viewer: a grey study with corner overlays (patient name^given, ID, birth date, study)."""
    width, height = ctx.rng.randint(1000, 1300), ctx.rng.randint(900, 1200)
    image = _xray(ctx, width, height).convert("RGB")
    draw = ImageDraw.Draw(image)
    size = ctx.rng.randint(26, 36)
    study = exam_date(ctx)
    study_text = format_date(ctx, study, ctx.pick(("iso", "dicom", "fr")))
    time_text = f"{ctx.rng.randint(7, 22):02d}:{ctx.rng.randint(0, 59):02d}:{ctx.rng.randint(0, 59):02d}"
    top_right = [
        ctx.pick(("CR THORAX F", "CR CHEST PA", "DX GENOU D", "CT ABDOMEN", "MR GENOU G T2")),
        f"{ctx.pick(('Study', 'Examen', 'Date'))}: {study_text}",
        time_text,
    ]
    bottom = [
        f"W: {ctx.rng.randint(300, 4000)} L: {ctx.rng.randint(40, 2000)}",
        f"Zoom {ctx.rng.uniform(0.5, 2):.2f}",
    ]
    bottom_right = [
        f"kV {ctx.rng.randint(60, 130)}  mAs {ctx.rng.uniform(0.5, 20):.1f}",
        f"Se: 1  Im: {ctx.rng.randint(1, 40)}",
    ]
    top_left: list[str] = []
    fmt = None
    labelled = False
    if person is not None:
        fmt = ctx.weighted({"SURNAME^GIVEN": 4, "SURNAME, Given": 1, "SURNAME GIVEN": 1})
        name = format_name(ctx, person, fmt)
        labelled = ctx.rng.random() < 0.25
        if labelled:
            name = f"{ctx.pick(('Patient', 'Name', 'Nom'))}: {name}"
        birth = format_date(ctx, person.birth, ctx.pick(("dicom", "fr", "iso")))
        top_left = [
            name,
            ctx.pick((f"ID: {person.ipp}", person.ipp, f"PID {person.ipp}")),
            ctx.pick((f"DOB: {birth}", f"{birth}", f"Né(e): {birth}")),
            f"{person.sex} {person.age(ctx.reference_year):03d}Y",
        ]
    regular, _ = _pick_fonts(ctx, ctx.pick(("sans", "mono")), [*top_left, *top_right])
    font = regular.load(size)
    step = round(size * 1.3)
    color = ctx.rng.choice(((240, 240, 240), (250, 250, 120), (120, 240, 250)))
    for i, text in enumerate(top_left):
        draw.text((16, 12 + i * step), text, fill=color, font=font)
    for i, text in enumerate(top_right):
        w, _ = _text_size(draw, text, font)
        draw.text((width - w - 16, 12 + i * step), text, fill=color, font=font)
    for i, text in enumerate(bottom):
        draw.text((16, height - (len(bottom) - i) * step - 12), text, fill=color, font=font)
    for i, text in enumerate(bottom_right):
        w, _ = _text_size(draw, text, font)
        draw.text((width - w - 16, height - (len(bottom_right) - i) * step - 12), text, fill=color, font=font)
    lines = [*top_left, *top_right, *bottom, *bottom_right]
    return Drawn(
        image, lines, regular.family, size, person is not None, labelled, name_format=fmt, screen=True
    )


def form(ctx: Context, person: Person | None) -> Drawn:
    """A labelled patient sticker or admission form ("Nom : … Prénom : …"), or a drug label."""
    if person is None:
        drug = ctx.pick(
            (
                "AMOXICILLINE 1 g",
                "Paracétamol 500 mg IV",
                "CEFTRIAXONE 2 g",
                "NaCl 0,9 % 250 mL",
                "Héparine 5000 UI/mL",
                "Morphine 10 mg/mL",
                "Furosémide 20 mg",
                "Glucose 5 % 500 mL",
                "Vancomycine 500 mg",
            )
        )
        lines = [
            Line(drug, size=1.2, bold=True),
            Line(
                ctx.pick(
                    (
                        "Poudre pour solution injectable",
                        "Solution pour perfusion",
                        "Voie IV lente",
                        "Voie orale",
                    )
                )
            ),
            Line(f"LOT {lot_number(ctx.rng)}   EXP {expiry(ctx)}", size=0.8),
        ]
        if ctx.rng.random() < 0.4:
            lines.append(
                Line(
                    ctx.pick(("1 flacon", "10 ampoules", "Conserver à 25 °C max", "Protocole FOLFOX J1")),
                    size=0.7,
                )
            )
        card = Card(lines, base=ctx.rng.randint(36, 50), bg=WHITE, band=_drug_band(ctx.rng), min_aspect=1.6)
        return _drawn(ctx, card, identifying=False)
    born = format_date(ctx, person.birth)
    sex = person.sex
    if ctx.language == "fr":
        variant = ctx.pick(("sticker", "sticker", "form"))
        name_lines = (
            [
                Line(f"Nom : {person.surname.upper()}", identifying=True),
                Line(f"Prénom : {person.given}", identifying=True),
            ]
            if ctx.rng.random() < 0.6
            else [Line(f"Nom : {person.surname.upper()}   Prénom : {person.given}", identifying=True)]
        )
        rest = [
            Line(f"Né(e) le : {born}   Sexe : {sex}", size=0.85),
            Line(f"IPP : {person.ipp}   Séj. : {person.stay}", size=0.85),
        ]
    else:
        variant = ctx.pick(("sticker", "form"))
        name_lines = [Line(f"Name: {person.surname.upper()}, {person.given}", identifying=True)]
        rest = [Line(f"DOB: {born}   Sex: {sex}", size=0.85), Line(f"MRN: {person.ipp}", size=0.85)]
    lines = name_lines + rest
    if variant == "form":
        title = "FICHE D'ADMISSION" if ctx.language == "fr" else "ADMISSION FORM"
        lines = [Line(title, size=1.1, bold=True, gap=0.8), *lines]
    card = Card(
        lines,
        base=ctx.rng.randint(34, 48),
        style=ctx.pick(("sans", "mono", "serif")),
        bg=WHITE if variant == "form" else _pastel(ctx.rng),
        border=(90, 90, 90) if variant == "form" else None,
        min_aspect=1.4,
    )
    return _drawn(ctx, card, identifying=True, labelled=True, name_format="Nom/Prénom fields")


def _drug_band(rng: random.Random) -> RGB:
    return rng.choice(((200, 40, 40), (30, 110, 190), (20, 140, 80), (230, 150, 20)))


def tube(ctx: Context, person: Person | None) -> Drawn:
    """A specimen tube label: name, birth date, record number, sampling date (or a reagent label)."""
    if person is None:
        lines = [
            Line(
                ctx.pick(
                    (
                        "EDTA K2E 4,0 mL",
                        "Citrate 3,2 %",
                        "Sérum – gel 5 mL",
                        "Héparine de lithium",
                        "Hémoculture aérobie",
                    )
                ),
                bold=True,
            ),
            Line(f"LOT {lot_number(ctx.rng)}", size=0.85),
            Line(f"EXP {expiry(ctx)}", size=0.85),
        ]
        card = Card(
            lines, base=ctx.rng.randint(30, 40), bg=WHITE, band=_drug_band(ctx.rng), min_aspect=2.2, pad=0.5
        )
        return _drawn(ctx, card, identifying=False)
    fmt = ctx.weighted({"SURNAME Given": 4, "SURNAME GIVEN": 2, "I. SURNAME": 1})
    name = format_name(ctx, person, fmt)
    labelled = ctx.rng.random() < 0.3
    if labelled:
        name = f"Nom : {name}" if ctx.language == "fr" else f"Name: {name}"
    sampled = exam_date(ctx)
    lines = [
        Line(name, bold=True, identifying=True),
        Line(
            f"{'DDN' if ctx.language == 'fr' else 'DOB'} {format_date(ctx, person.birth)}  {person.sex}",
            size=0.85,
        ),
        Line(
            f"{person.ipp}   {format_date(ctx, sampled)} "
            f"{ctx.rng.randint(6, 20)}h{ctx.rng.randint(0, 59):02d}",
            size=0.75,
        ),
    ]
    with_code = ctx.rng.random() < 0.35
    card = Card(
        lines,
        base=ctx.rng.randint(28, 38),
        style=ctx.pick(("mono", "sans")),
        bg=WHITE,
        min_aspect=2.2,
        pad=0.5,
        code=barcode_array(person.stay, "code128") if with_code else None,
    )
    return _drawn(ctx, card, identifying=True, labelled=labelled, barcode=with_code, name_format=fmt)


def whiteboard(ctx: Context, person: Person | None) -> Drawn:
    """A ward whiteboard in marker-like italics, slightly crooked lines (room and name, or notes)."""
    notes = (
        [
            "Staff 14h",
            "Visite 10h30",
            "Bloc : 2 patients",
            "Pensez hygiène des mains",
            "Commande pharmacie mardi",
        ]
        if ctx.language == "fr"
        else ["Handover 7.30", "Ward round 10am", "2 for theatre", "Hand hygiene!", "Pharmacy order Tue"]
    )
    ctx.rng.shuffle(notes)
    colors: list[RGB] = [(30, 60, 170), (20, 20, 20), (180, 30, 30), (20, 120, 50)]
    lines = [Line(n, color=ctx.rng.choice(colors), gap=0.5) for n in notes[: ctx.rng.randint(2, 3)]]
    fmt = None
    if person is not None:
        fmt = ctx.weighted(
            {"Title SURNAME": 3, "Surname Given": 2, "SURNAME Given": 2, "Title SURNAME Given": 1}
        )
        room_no = ctx.rng.randint(1, 40)
        extra = ctx.pick(
            ("", "  sortie J+1", "  à jeun", "  bilan 8h", "  IRM 15h")
            if ctx.language == "fr"
            else ("", "  home tomorrow", "  NBM")
        )
        text = f"{'Ch' if ctx.language == 'fr' else 'Rm'} {room_no} : {format_name(ctx, person, fmt)}{extra}"
        lines.insert(
            ctx.rng.randint(0, len(lines)),
            Line(text, size=1.15, color=ctx.rng.choice(colors), identifying=True, gap=0.5),
        )
    card = Card(
        lines,
        base=ctx.rng.randint(40, 56),
        style="hand",
        bg=(ctx.rng.randint(238, 250),) * 3,  # type: ignore[arg-type]
        border=(170, 170, 175),
        min_aspect=1.5,
        jitter_deg=2.5,
    )
    return _drawn(ctx, card, identifying=person is not None, name_format=fmt)


def ward_sign(ctx: Context, person: Person | None) -> Drawn:
    """A service or door sign (never identifying)."""
    del person
    text = ctx.pick(
        (
            "SOINS INTENSIFS",
            "ENTRÉE INTERDITE",
            "Bloc opératoire",
            "Salle de soins",
            "Réanimation – Secteur B",
            "Urgences pédiatriques",
        )
        if ctx.language == "fr"
        else ("INTENSIVE CARE", "NO ENTRY", "Treatment room", "Theatre 3", "Sluice")
    )
    lines = [Line(text, size=1.3, bold=True, color=WHITE)]
    if ctx.rng.random() < 0.5:
        lines.append(
            Line(
                ctx.pick(
                    ("Accès réservé au personnel", "Niveau 2 – Aile Est", "Staff only", "Sortie de secours")
                ),
                size=0.7,
                color=WHITE,
            )
        )
    card = Card(
        lines,
        base=ctx.rng.randint(44, 64),
        bg=ctx.rng.choice(((30, 80, 160), (190, 40, 40), (20, 120, 70), (60, 60, 70))),
        align="center",
        min_aspect=2.0,
    )
    return _drawn(ctx, card, identifying=False)


def scale_chart(ctx: Context, person: Person | None) -> Drawn:
    """A pain scale, a score chart or anatomy labels (never identifying)."""
    del person
    kind = ctx.pick(("pain", "score", "anatomy"))
    if kind == "pain":
        lines = [
            Line("Échelle de douleur (EVA)" if ctx.language == "fr" else "Pain score (VAS)", bold=True),
            Line("0  1  2  3  4  5  6  7  8  9  10", size=1.2),
            Line(
                "Pas de douleur … Douleur maximale" if ctx.language == "fr" else "No pain … Worst pain",
                size=0.7,
            ),
        ]
    elif kind == "score":
        lines = [
            Line(ctx.pick(("Score de Glasgow", "Score de Braden", "NEWS2", "Échelle de Norton")), bold=True),
            Line(f"Total : {ctx.rng.randint(3, 23)}", size=1.1),
            Line(f"Réévaluer toutes les {ctx.rng.choice((2, 4, 6, 8))} h", size=0.8),
        ]
    else:
        side = ctx.pick(("droit", "gauche", "D", "G"))
        lines = [
            Line(ctx.pick(("Vue antérieure", "Vue latérale", "Face palmaire")), bold=True),
            Line(
                ctx.pick((f"Genou {side}", f"Cheville {side}", "L4–L5", f"Main {side}", "Sacrum")), size=1.1
            ),
            Line(f"J{ctx.rng.randint(1, 30)} post-op", size=0.8),
        ]
    card = Card(
        lines, base=ctx.rng.randint(36, 52), bg=_pastel(ctx.rng), border=(120, 120, 130), min_aspect=1.5
    )
    return _drawn(ctx, card, identifying=False)


def clean(ctx: Context, person: Person | None) -> Drawn:
    """A clinical-looking close-up without text: skin tones and a wound-like blob."""
    del person
    width, height = ctx.rng.randint(900, 1200), ctx.rng.randint(700, 1000)
    small_w, small_h = width // 6, height // 6
    yy, xx = np.mgrid[0:small_h, 0:small_w].astype(np.float32)
    skin = np.array(
        ctx.rng.choice(((224, 172, 140), (198, 134, 96), (141, 85, 56), (92, 58, 40), (236, 192, 170))),
        np.float32,
    )
    shade = 1 - 0.25 * (xx / small_w) + ctx.nrng.normal(0, 0.02, (small_h, small_w)).astype(np.float32)
    base = skin[None, None, :] * shade[..., None]
    cx, cy = small_w * ctx.rng.uniform(0.35, 0.65), small_h * ctx.rng.uniform(0.35, 0.65)
    rx, ry = small_w * ctx.rng.uniform(0.08, 0.2), small_h * ctx.rng.uniform(0.08, 0.2)
    d = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2
    wound = np.clip(1.3 - d, 0, 1)[..., None]
    red = np.array((150, 30, 35), np.float32)[None, None, :] * (
        0.8 + 0.4 * ctx.nrng.random((small_h, small_w, 1))
    )
    pixels = base * (1 - wound) + red * wound
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    image = image.filter(ImageFilter.GaussianBlur(1.2))
    return Drawn(image, [], "", 0, False)


_DRAWN_FILLS: tuple[RGB, ...] = (
    (255, 221, 0),
    (246, 200, 159),
    (255, 255, 255),
    (198, 134, 96),
    (170, 210, 240),
)


def _drawn_face(
    draw: ImageDraw.ImageDraw, centre: tuple[int, int], radius: int, fill: RGB, mood: int
) -> None:
    """A face as people draw one: a disc, two dots, a mouth from smiling (-1) to crying (+1)."""
    cx, cy = centre
    width = max(2, radius // 14)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill, outline=BLACK, width=width)
    eye = max(3, radius // 8)
    for side in (-1, 1):
        ex, ey = cx + side * radius // 3, cy - radius // 4
        draw.ellipse((ex - eye, ey - eye, ex + eye, ey + eye), fill=BLACK)
    box = (cx - radius // 2, cy, cx + radius // 2, cy + radius // 2)
    if mood < 0:
        draw.arc(box, 20, 160, fill=BLACK, width=width)
    elif mood > 0:
        draw.arc(
            (box[0], box[1] + radius // 4, box[2], box[3] + radius // 4), 200, 340, fill=BLACK, width=width
        )
    else:
        draw.line((box[0], cy + radius // 3, box[2], cy + radius // 3), fill=BLACK, width=width)


def drawing(ctx: Context, person: Person | None) -> Drawn:
    """Drawn faces that are no one: a faces pain scale, a smiley sticker, a body chart (faces: 0)."""
    del person
    kind = ctx.pick(("pain_faces", "smiley", "body_chart"))
    width, height = ctx.rng.randint(900, 1200), ctx.rng.randint(600, 900)
    image = Image.new("RGB", (width, height), _pastel(ctx.rng))
    draw = ImageDraw.Draw(image)
    fill = ctx.rng.choice(_DRAWN_FILLS)
    lines: list[str] = []
    if kind == "pain_faces":
        count = ctx.rng.choice((4, 5, 6))
        radius = min(width // (2 * count + 2), 110)
        for index in range(count):
            mood = -1 if index < count // 3 else (0 if index < 2 * count // 3 else 1)
            _drawn_face(draw, ((2 * index + 1) * width // (2 * count), height // 2), radius, fill, mood)
        lines = ["0  2  4  6  8  10"]
        font = font_for(fonts_of_style("sans"), ctx.rng.randrange(8), lines).load(36)
        draw.text((width // 8, height // 2 + radius + 30), lines[0], fill=BLACK, font=font)
    elif kind == "smiley":
        _drawn_face(
            draw, (width // 2, height // 2), ctx.rng.randint(120, min(width, height) // 2 - 20), fill, -1
        )
    else:
        cx, head = width // 2, height // 10
        draw.ellipse((cx - head, 40, cx + head, 40 + 2 * head), outline=BLACK, width=4)
        draw.line((cx, 40 + 2 * head, cx, height - 220), fill=BLACK, width=4)
        draw.line((cx - 180, height // 3, cx + 180, height // 3), fill=BLACK, width=4)
        draw.line((cx, height - 220, cx - 90, height - 30), fill=BLACK, width=4)
        draw.line((cx, height - 220, cx + 90, height - 30), fill=BLACK, width=4)
        for side in (-1, 1):
            ex, ey = cx + side * head // 2, 40 + head - 6
            draw.ellipse((ex - 5, ey - 5, ex + 5, ey + 5), fill=BLACK)
    return Drawn(image, lines, "", 36 if lines else 0, False)


Renderer = Callable[[Context, "Person | None"], Drawn]

#: layout name -> (renderer, draws positives?, draws harmless text?)
LAYOUTS: dict[str, tuple[Renderer, bool, bool]] = {
    "bed_sign": (bed_sign, True, True),
    "wristband": (wristband, True, True),
    "monitor": (monitor, True, True),
    "pacs": (pacs, True, True),
    "form": (form, True, True),
    "tube": (tube, True, True),
    "whiteboard": (whiteboard, True, True),
    "ward_sign": (ward_sign, False, True),
    "scale_chart": (scale_chart, False, True),
    "clean": (clean, False, False),
    # Appended after the main plan (see generate.DRAWINGS), so that adding them changed no earlier image.
    "drawing": (drawing, False, False),
}
