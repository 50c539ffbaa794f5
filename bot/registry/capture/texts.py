"""What the consent form, the receipt and the withdrawal pages say, in French and in English.

Every sentence a patient reads is here, none in the templates (they hold the layout only). Placeholders are
``str.format`` fields; the templates escape every value. Changing a sentence of the consent statement
changes :data:`TEXT_VERSION`'s fingerprint, which the signed record keeps.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import astuple, dataclass
from datetime import datetime

from bot.consent.model import Purpose

#: The version of the consent statement, kept with every signed record (with the fingerprint of its text).
TEXT_VERSION = "capture-1"


class Language(enum.StrEnum):
    """The languages of the form."""

    FR = "fr"
    EN = "en"


@dataclass(frozen=True, slots=True)
class Statement:
    """The consent statement: what the signer is told and agrees to."""

    heading: str
    intro: str
    intro_named: str
    group: str
    clinician: str
    closed_group: str
    purposes: str
    purpose_labels: tuple[str, str, str]  # advice, teaching, publication: Purpose's order
    purpose_help: tuple[str, str, str]
    duration: str
    days: str
    images: str
    images_help: str
    limits: str
    withdraw_heading: str
    withdraw: str
    agree: str


@dataclass(frozen=True, slots=True)
class Texts:
    """Every other sentence of the pages, in one language."""

    html_lang: str
    other_language: str
    other_language_name: str
    statement: Statement
    signer: str
    signer_patient: str
    signer_guardian: str
    guardian_name: str
    patient_name: str
    signature: str
    signature_draw: str
    signature_clear: str
    signature_typed: str
    submit: str
    errors_heading: str
    error_csrf: str
    error_purpose: str
    error_days: str
    error_images: str
    error_patient_name: str
    error_guardian_name: str
    error_signature: str
    error_signature_image: str
    error_agree: str
    error_too_large: str
    error_rate_limited: str
    error_refused: str
    link_unknown_heading: str
    link_unknown: str
    link_expired_heading: str
    link_expired: str
    link_used_heading: str
    link_used: str
    show_receipt: str
    receipt_heading: str
    receipt_intro: str
    receipt_reference: str
    receipt_purposes: str
    receipt_date: str
    receipt_duration: str
    receipt_valid_until: str
    receipt_signed_by: str
    receipt_signed_by_guardian: str
    receipt_signature: str
    receipt_typed_signature: str
    receipt_code: str
    receipt_code_help: str
    receipt_withdraw_url: str
    receipt_keep: str
    receipt_print: str
    receipt_gone_heading: str
    receipt_gone: str
    withdraw_heading: str
    withdraw_intro: str
    withdraw_code: str
    withdraw_submit: str
    withdraw_unknown: str
    withdraw_mistyped: str
    withdraw_rate_limited: str
    withdrawn_heading: str
    withdrawn: str
    already_withdrawn: str
    withdrawn_details: str
    months: tuple[str, ...]

    def purpose(self, purpose: Purpose) -> str:
        """The label of ``purpose``."""
        return self.statement.purpose_labels[list(Purpose).index(purpose)]

    def purpose_help(self, purpose: Purpose) -> str:
        """The one-line explanation of ``purpose``."""
        return self.statement.purpose_help[list(Purpose).index(purpose)]

    def date(self, moment: datetime) -> str:
        """``2 December 2026`` / ``2 décembre 2026`` (UTC)."""
        return f"{moment.day} {self.months[moment.month - 1]} {moment.year}"

    def datetime(self, moment: datetime) -> str:
        """The date and the UTC time, to the minute."""
        return f"{self.date(moment)}, {moment:%H:%M} UTC"

    def statement_fingerprint(self) -> str:
        """SHA-256 of the consent statement's sentences, as shown: kept with the signed record."""
        parts = [TEXT_VERSION, self.html_lang]
        for value in astuple(self.statement):
            parts.extend(value if isinstance(value, tuple) else (value,))
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


FRENCH = Texts(
    html_lang="fr",
    other_language="en",
    other_language_name="English",
    statement=Statement(
        heading="Consentement au partage de photos",
        intro="Un soignant vous demande l'autorisation de partager des photos (vous, ou le patient que vous "
        "représentez) avec des confrères, dans un groupe de discussion.",
        intro_named="{name} vous demande l'autorisation de partager des photos (vous, ou le patient que vous "
        "représentez) avec des confrères, dans un groupe de discussion.",
        group="Groupe",
        clinician="Soignant",
        closed_group="Les photos ne sont envoyées qu'à ce groupe fermé de professionnels de santé, tenus au "
        "secret professionnel. Elles ne sont pas publiques.",
        purposes="Pour quoi faire (cochez au moins une case)",
        purpose_labels=("Avis", "Enseignement", "Publication"),
        purpose_help=(
            "demander l'avis de confrères sur votre cas",
            "former des étudiants et des soignants",
            "un article ou une présentation en congrès",
        ),
        duration="Pendant combien de temps",
        days="{days} jours",
        images="Nombre d'images au plus",
        images_help="De 1 à {max} images.",
        limits="Passé ce délai, ou ce nombre d'images, plus aucune photo ne peut être partagée avec ce "
        "consentement.",
        withdraw_heading="Retirer votre consentement",
        withdraw="Vous pouvez retirer ce consentement à tout moment, sans avoir à vous justifier : avec le "
        "code de retrait inscrit sur votre reçu, sur la page {url}, ou en le demandant au soignant. Les "
        "photos déjà partagées sont alors retirées du groupe (ou signalées à ses modérateurs pour qu'ils les "
        "retirent).",
        agree="J'accepte que des photos soient partagées comme décrit ci-dessus. Je sais que je peux retirer "
        "ce consentement à tout moment.",
    ),
    signer="Qui signe",
    signer_patient="Le patient",
    signer_guardian="Son représentant légal (parent, tuteur)",
    guardian_name="Nom et prénom du représentant légal",
    patient_name="Nom et prénom du patient",
    signature="Signature",
    signature_draw="Signez avec le doigt dans le cadre ci-dessous.",
    signature_clear="Effacer",
    signature_typed="Ou tapez votre nom pour signer",
    submit="Signer et donner mon consentement",
    errors_heading="Le formulaire n'est pas complet",
    error_csrf="Ce formulaire a expiré : rechargez la page et recommencez.",
    error_purpose="Cochez au moins un usage.",
    error_days="Choisissez une durée dans la liste.",
    error_images="Indiquez un nombre d'images entre 1 et {max}.",
    error_patient_name="Indiquez le nom et le prénom du patient.",
    error_guardian_name="Indiquez le nom et le prénom du représentant légal.",
    error_signature="Signez dans le cadre, ou tapez votre nom pour signer.",
    error_signature_image="La signature dessinée n'a pas pu être lue : effacez-la et signez à nouveau.",
    error_agree="Cochez la case « J'accepte » pour donner votre consentement.",
    error_too_large="Le formulaire envoyé est trop volumineux.",
    error_rate_limited="Trop de consentements ont été enregistrés pour ce soignant ces derniers temps : "
    "réessayez dans quelques minutes.",
    error_refused="Le registre a refusé ce consentement : {reason}",
    link_unknown_heading="Lien inconnu",
    link_unknown="Ce lien de consentement n'existe pas. Demandez un nouveau lien au soignant.",
    link_expired_heading="Lien expiré",
    link_expired="Ce lien de consentement a expiré. Demandez un nouveau lien au soignant.",
    link_used_heading="Lien déjà utilisé",
    link_used="Ce formulaire a déjà été signé : un lien ne sert qu'une fois.",
    show_receipt="Afficher le reçu",
    receipt_heading="Reçu de consentement",
    receipt_intro="Le consentement a été enregistré. Le soignant a reçu le code à citer avec les photos.",
    receipt_reference="Référence",
    receipt_purposes="Usages",
    receipt_date="Signé le",
    receipt_duration="Durée",
    receipt_valid_until="valable jusqu'au",
    receipt_signed_by="Signé par le patient : {name}",
    receipt_signed_by_guardian="Signé par {guardian}, représentant légal du patient : {name}",
    receipt_signature="Signature",
    receipt_typed_signature="signature tapée : {name}",
    receipt_code="Code de retrait",
    receipt_code_help="Ce code permet de retirer le consentement, sans compte, à tout moment.",
    receipt_withdraw_url="Page de retrait",
    receipt_keep="Conservez ce reçu dans le dossier du patient ; remettez-en une copie au patient.",
    receipt_print="Imprimer",
    receipt_gone_heading="Reçu indisponible",
    receipt_gone="Ce reçu ne peut plus être affiché. Le code de retrait ne s'affiche qu'au moment de la "
    "signature ; le soignant ou l'administrateur du registre peut toujours retirer le consentement.",
    withdraw_heading="Retirer un consentement",
    withdraw_intro="Tapez le code de retrait inscrit sur le reçu. Le consentement sera retiré aussitôt et "
    "les photos partagées avec lui seront retirées du groupe (ou signalées à ses modérateurs).",
    withdraw_code="Code de retrait",
    withdraw_submit="Retirer le consentement",
    withdraw_unknown="Ce code ne correspond à aucun consentement. Vérifiez-le sur le reçu.",
    withdraw_mistyped="Ce code est mal tapé (12 caractères, comme ABCD-EFGH-JKMN) : vérifiez-le sur le reçu.",
    withdraw_rate_limited="Trop d'essais depuis votre connexion : réessayez dans {seconds} secondes.",
    withdrawn_heading="Consentement retiré",
    withdrawn="Le consentement est retiré. Plus aucune photo ne peut être partagée avec lui, et celles "
    "déjà partagées sont retirées du groupe (ou signalées à ses modérateurs pour qu'ils les retirent).",
    already_withdrawn="Ce consentement avait déjà été retiré.",
    withdrawn_details="Consentement signé le {date} pour le groupe {group}.",
    months=(
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
)

ENGLISH = Texts(
    html_lang="en",
    other_language="fr",
    other_language_name="Français",
    statement=Statement(
        heading="Consent to share photos",
        intro="A clinician asks your permission to share photos (of you, or of the patient you represent) "
        "with colleagues, in a group chat.",
        intro_named="{name} asks your permission to share photos (of you, or of the patient you represent) "
        "with colleagues, in a group chat.",
        group="Group",
        clinician="Clinician",
        closed_group="The photos go only to this closed group of health professionals, bound by professional "
        "secrecy. They are not public.",
        purposes="What for (tick at least one)",
        purpose_labels=("Advice", "Teaching", "Publication"),
        purpose_help=(
            "asking colleagues for their opinion on your case",
            "training students and health professionals",
            "an article or a conference presentation",
        ),
        duration="For how long",
        days="{days} days",
        images="Number of images at most",
        images_help="From 1 to {max} images.",
        limits="After this period, or once this number of images is reached, no more photos may be shared "
        "under this consent.",
        withdraw_heading="Withdrawing your consent",
        withdraw="You may withdraw this consent at any time, without giving a reason: with the withdrawal "
        "code printed on your receipt, at {url}, or by asking the clinician. Photos already shared are then "
        "removed from the group (or reported to its moderators for removal).",
        agree="I agree that photos be shared as described above. I know that I may withdraw this consent at "
        "any time.",
    ),
    signer="Who signs",
    signer_patient="The patient",
    signer_guardian="Their legal representative (parent, guardian)",
    guardian_name="Legal representative's full name",
    patient_name="Patient's full name",
    signature="Signature",
    signature_draw="Sign with your finger in the box below.",
    signature_clear="Clear",
    signature_typed="Or type your name to sign",
    submit="Sign and give my consent",
    errors_heading="The form is not complete",
    error_csrf="This form has expired: reload the page and start again.",
    error_purpose="Tick at least one purpose.",
    error_days="Choose a duration from the list.",
    error_images="Give a number of images between 1 and {max}.",
    error_patient_name="Give the patient's full name.",
    error_guardian_name="Give the legal representative's full name.",
    error_signature="Sign in the box, or type your name to sign.",
    error_signature_image="The drawn signature could not be read: clear it and sign again.",
    error_agree="Tick the box \u201cI agree\u201d to give your consent.",
    error_too_large="The form sent is too large.",
    error_rate_limited="Too many consents were recorded for this clinician lately: try again in a few "
    "minutes.",
    error_refused="The registry refused this consent: {reason}",
    link_unknown_heading="Unknown link",
    link_unknown="This consent link does not exist. Ask the clinician for a new link.",
    link_expired_heading="Link expired",
    link_expired="This consent link has expired. Ask the clinician for a new link.",
    link_used_heading="Link already used",
    link_used="This form has already been signed: a link works once only.",
    show_receipt="Show the receipt",
    receipt_heading="Consent receipt",
    receipt_intro="The consent is recorded. The clinician has received the code to quote with the photos.",
    receipt_reference="Reference",
    receipt_purposes="Purposes",
    receipt_date="Signed on",
    receipt_duration="Duration",
    receipt_valid_until="valid until",
    receipt_signed_by="Signed by the patient: {name}",
    receipt_signed_by_guardian="Signed by {guardian}, legal representative of the patient: {name}",
    receipt_signature="Signature",
    receipt_typed_signature="typed signature: {name}",
    receipt_code="Withdrawal code",
    receipt_code_help="This code withdraws the consent at any time, without an account.",
    receipt_withdraw_url="Withdrawal page",
    receipt_keep="Keep this receipt in the patient's file; give the patient a copy.",
    receipt_print="Print",
    receipt_gone_heading="Receipt unavailable",
    receipt_gone="This receipt can no longer be shown. The withdrawal code is shown only when the form is "
    "signed; the clinician or the registry's operator can still withdraw the consent.",
    withdraw_heading="Withdraw a consent",
    withdraw_intro="Type the withdrawal code printed on the receipt. The consent is withdrawn at once, and "
    "the photos shared under it are removed from the group (or reported to its moderators).",
    withdraw_code="Withdrawal code",
    withdraw_submit="Withdraw the consent",
    withdraw_unknown="This code matches no consent. Check it on the receipt.",
    withdraw_mistyped="This code is mistyped (12 characters, like ABCD-EFGH-JKMN): check it on the receipt.",
    withdraw_rate_limited="Too many attempts from your connection: try again in {seconds} seconds.",
    withdrawn_heading="Consent withdrawn",
    withdrawn="The consent is withdrawn. No more photos may be shared under it, and those already shared are "
    "removed from the group (or reported to its moderators for removal).",
    already_withdrawn="This consent had already been withdrawn.",
    withdrawn_details="Consent signed on {date} for the group {group}.",
    months=(
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
)

TEXTS = {Language.FR: FRENCH, Language.EN: ENGLISH}


def texts_for(language: str | None, default: Language = Language.FR) -> tuple[Language, Texts]:
    """The language named (``fr``/``en``, any case), else ``default``, and its texts."""
    try:
        chosen = Language((language or "").strip().lower())
    except ValueError:
        chosen = default
    return chosen, TEXTS[chosen]
