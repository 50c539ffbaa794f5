"""What the bot says when a clinician captures or withdraws a consent in chat, in French and English.

Shared by the Telegram and Discord front ends (``/consent``, ``/withdraw``; ``/consentguard consent`` and
``withdraw``). Placeholders use :meth:`str.format` names, the same in both languages: ``{url}``,
``{title}``, ``{minutes}``, ``{token}``, ``{seconds}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.messages.catalog import NBSP, Language
from bot.messages.compose import choose_language


@dataclass(frozen=True, slots=True)
class CaptureTexts:
    """Every sentence of the consent capture and withdrawal in chat, in one language."""

    language: Language

    private_only: str  # /consent or /withdraw in a group: nothing else is said there
    no_group: str  # the clinician is a member of none of the groups the bot moderates
    choose_group: str  # several groups: buttons follow
    link: str  # {url}, {title}, {minutes}: the form, and what to do with it
    signed: str  # {token}, {title}: the signed consent's token, to quote in the caption
    expired: str  # the form was not signed in time
    rate_limited: str  # {seconds}
    unavailable: str  # the registry could not be reached
    withdraw_usage: str
    withdrawn: str
    withdraw_not_yours: str
    withdraw_unknown: str
    unnamed_group: str  # a group whose title the bot does not know


FRENCH_CAPTURE = CaptureTexts(
    language="fr",
    private_only=(
        f"Écrivez-moi en privé pour recueillir ou retirer un consentement{NBSP}: ces échanges ne se font "
        "pas dans le groupe."
    ),
    no_group="Vous n’êtes membre d’aucun groupe que je modère.",
    choose_group=f"Pour quel groupe recueillir le consentement du patient{NBSP}?",
    link=(
        f"Formulaire de consentement pour «{NBSP}{{title}}{NBSP}»{NBSP}: {{url}}\n\n"
        f"Ouvrez-le sur votre téléphone et montrez-le au patient{NBSP}: il le lit et le signe lui-même. "
        f"Le lien sert une seule fois et expire dans {{minutes}}{NBSP}min. Ne le partagez pas."
    ),
    signed=(
        f"Le patient a signé. Mettez ce code dans la légende de l’image publiée dans «{NBSP}{{title}}{NBSP}»"
        f"{NBSP}: #consent {{token}}"
    ),
    expired="Le formulaire n’a pas été signé à temps. Demandez-en un nouveau avec /consent.",
    rate_limited=f"Trop de demandes de formulaire{NBSP}: réessayez dans {{seconds}}{NBSP}s.",
    unavailable=f"Le registre des consentements ne répond pas{NBSP}; réessayez dans quelques minutes.",
    withdraw_usage=f"Usage{NBSP}: /withdraw CG-XXXX-XXXX-XXXX-XXXX-X",
    withdrawn=(
        "Consentement retiré. Les publications faites avec ce consentement vont être supprimées des groupes."
    ),
    withdraw_not_yours=(
        f"Ce consentement n’a pas été recueilli par vous ni ne vous désigne{NBSP}: il n’est pas retiré."
    ),
    withdraw_unknown="Aucun consentement ne correspond à ce jeton.",
    unnamed_group="votre groupe",
)

ENGLISH_CAPTURE = CaptureTexts(
    language="en",
    private_only="Message me privately to capture or withdraw a consent: this is not done in the group.",
    no_group="You are not a member of any group I moderate.",
    choose_group="Which group is the patient’s consent for?",
    link=(
        "Consent form for “{title}”: {url}\n\n"
        "Open it on your phone and show it to the patient: they read and sign it themselves. "
        "The link works once and expires in {minutes} min. Do not share it."
    ),
    signed=(
        "The patient signed. Put this code in the caption of the image posted in “{title}”: #consent {token}"
    ),
    expired="The form was not signed in time. Ask for a new one with /consent.",
    rate_limited="Too many form requests: try again in {seconds} s.",
    unavailable="The consent registry is not answering; please try again in a few minutes.",
    withdraw_usage="Usage: /withdraw CG-XXXX-XXXX-XXXX-XXXX-X",
    withdrawn="Consent withdrawn. The posts made under it will be deleted from the groups.",
    withdraw_not_yours="You neither captured this consent nor are named in it: it is not withdrawn.",
    withdraw_unknown="No consent has this token.",
    unnamed_group="your group",
)

#: The capture texts by language code. French is the default.
CAPTURE_TEXTS: Mapping[Language, CaptureTexts] = {"fr": FRENCH_CAPTURE, "en": ENGLISH_CAPTURE}


def capture_texts(language: str | None) -> CaptureTexts:
    """The capture texts in ``language`` ("fr", "en", a tag like "en-GB"); French otherwise."""
    return CAPTURE_TEXTS[choose_language(language, None)]
