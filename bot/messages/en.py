"""English wording (British spelling): typographic apostrophes and “curly quotes”, as in the French."""

from __future__ import annotations

from bot.consent.model import ScopeProblem, TokenProblem
from bot.domain import ConsentState, Verdict
from bot.messages.catalog import Catalog
from detectors.base import FindingKind

_CONSENT_HELP = (
    "To share a patient image in the group:\n"
    "1. Obtain the patient’s express authorisation and record it in the consent registry. "
    "You get a token of the form CG-XXXX-XXXX-XXXX-XXXX-X.\n"
    "2. Quote the token in the image’s caption: #consent CG-XXXX-XXXX-XXXX-XXXX-X\n"
    "The token holds no patient data. It is valid for the groups, clinicians and purpose "
    "(advice, teaching, publication) agreed with the patient, who can revoke it at any time."
)

_LEGAL = (
    "As a reminder, an image that can identify a patient is covered by professional secrecy, however closed "
    "the group (French Public Health Code, article L1110-4). Sharing it without the patient’s express "
    "authorisation is punishable by up to 1 year of imprisonment and a €15,000 fine (French Criminal Code, "
    "article 226-13)."
)

_QUOTED = "the token you quoted"
_CONSENT = f"The consent behind {_QUOTED}"

ENGLISH = Catalog(
    language="en",
    kind_labels={
        FindingKind.FACE: "a face",
        FindingKind.PERSON_NAME: "a name",
        FindingKind.BIRTH_DATE: "a date of birth",
        FindingKind.NIR: "a French social security number (NIR)",
        FindingKind.RECORD_NUMBER: "a patient record number",
        FindingKind.MRZ: "the machine-readable zone of an identity document",
        FindingKind.PHONE: "a phone number",
        FindingKind.EMAIL: "an e-mail address",
        FindingKind.POSTAL_ADDRESS: "a postal address",
        FindingKind.CARE_FACILITY: "the name of a care facility",
        FindingKind.PLAIN_TEXT: "readable text",
        FindingKind.BARCODE: "a barcode or QR code",
        FindingKind.EXIF_GPS: "a GPS location in the file’s metadata",
        FindingKind.EXIF_CAPTURE_TIME: "the capture time in the file’s metadata",
        FindingKind.EXIF_DEVICE_OWNER: "the device owner’s name in the file’s metadata",
        FindingKind.EXIF_THUMBNAIL: "a thumbnail hidden in the file’s metadata",
        FindingKind.DICOM_PATIENT_TAG: "patient data in the DICOM header",
    },
    other_kind="another identifying feature",
    list_and="and",
    of_group_named="of “{title}”",
    of_group_unnamed="of your group",
    in_group_named="in “{title}”",
    in_group_unnamed="in the group",
    verdict_done={
        Verdict.ALLOW: "allowed",
        Verdict.QUARANTINE: "set aside for review",
        Verdict.DELETE: "deleted",
        Verdict.MONITOR: "left in place",
    },
    verdict_unknown="removed",
    greeting="Hello, this is {bot}, the moderation bot {of_group}.",
    outcome={
        Verdict.ALLOW: "The image you posted there has been kept.",
        Verdict.QUARANTINE: (
            "The image you posted there has been set aside: it is hidden from the group until a moderator "
            "reviews it."
        ),
        Verdict.DELETE: "The image you posted there has been deleted.",
        Verdict.MONITOR: (
            "The image you posted there is still up, because the consent rule is in a trial period in that "
            "group. Normally, it would have been {would_have}."
        ),
    },
    consent_why={
        ConsentState.VALID: "The consent token you quoted is valid.",
        ConsentState.MISSING: "The image’s caption does not quote any consent token.",
        ConsentState.MALFORMED: "The consent token you quoted looks mistyped: {problem}",
        ConsentState.UNKNOWN: f"{_QUOTED.capitalize()} does not match any consent in the registry.",
        ConsentState.REVOKED: f"The patient has revoked the consent behind {_QUOTED}.",
        ConsentState.EXPIRED: f"{_CONSENT} has expired.",
        ConsentState.OUT_OF_SCOPE: f"{_CONSENT} {{problem}}",
        ConsentState.USED_UP: f"{_CONSENT} has already been used for all the images it allows.",
        ConsentState.UNAVAILABLE: f"The consent registry did not answer, so {_QUOTED} could not be checked.",
        ConsentState.RATE_LIMITED: (
            f"You had too many consent tokens checked in a short time: as a safeguard, {_QUOTED} was not "
            "checked. Please try again in a few minutes."
        ),
    },
    token_problem_why={
        TokenProblem.WRONG_LENGTH: (
            "it does not have the right length (CG- followed by 16 characters, then a check character)."
        ),
        TokenProblem.BAD_CHARACTER: (
            "it contains a character that never appears in a token (only digits and unaccented letters, "
            "never U)."
        ),
        TokenProblem.BAD_CHECK: (
            "its check character does not match, which points to a typo (one character changed or two "
            "characters swapped)."
        ),
    },
    malformed_unspecified="it could not be read.",
    scope_problem_why={
        ScopeProblem.WRONG_GROUP: "does not cover this group.",
        ScopeProblem.WRONG_POSTER: "does not name you among the clinicians allowed to share the image.",
        ScopeProblem.WRONG_PURPOSE: "does not cover this use of the image (advice, teaching or publication).",
    },
    scope_problem_unspecified="does not cover this post.",
    held_until_checked="The image stays set aside until it can be.",
    kinds_seen="The automatic check found features in the image that can identify a patient: {kinds}.",
    kinds_seen_unnamed="The automatic check found something in the image that can identify a patient.",
    nothing_seen_strict=(
        "The automatic check found nothing identifying, but in this group every patient image needs consent."
    ),
    restore_hint="If it is a slide, a diagram or a figure, a moderator can restore it in one click.",
    nothing_seen="The automatic check found nothing identifying in the image.",
    unchecked_file=(
        "The bot cannot look inside this kind of file (an archive, an office document, audio…), so it cannot "
        "tell whether it shows a patient. Post the images themselves, a video or a PDF, with the patient’s "
        "consent token if they need one."
    ),
    detection_failed=(
        "The image could not be checked, so as a precaution it is treated as if it could identify a patient."
    ),
    legal=_LEGAL,
    review=(
        "Think this is a mistake, for instance a slide or a diagram with no patient in it? Ask a moderator "
        "to review it: {hint}"
    ),
    review_no_hint=(
        "Think this is a mistake, for instance a slide or a diagram with no patient in it? Contact one of "
        "the group’s moderators."
    ),
    closing="Thank you for your understanding.",
    mistake_hint="If you think this is a mistake, reply here or ask a group moderator to review it.",
    consent_help=_CONSENT_HELP,
    group_notice="{mention}, an image you posted was removed under this group’s patient-consent rule.",
    group_notice_link="For details, open a private chat with me: {link}",
    group_notice_no_link="For details, open a private chat with me.",
    consent_short={
        ConsentState.VALID: "valid",
        ConsentState.MISSING: "no token quoted",
        ConsentState.MALFORMED: "mistyped token",
        ConsentState.UNKNOWN: "token unknown to the registry",
        ConsentState.REVOKED: "revoked by the patient",
        ConsentState.EXPIRED: "expired",
        ConsentState.OUT_OF_SCOPE: "does not cover this post",
        ConsentState.USED_UP: "allowed number of images reached",
        ConsentState.UNAVAILABLE: "registry unreachable, check pending",
        ConsentState.RATE_LIMITED: "too many tokens checked by this poster, check pending",
    },
    token_problem_short={
        TokenProblem.WRONG_LENGTH: "wrong length",
        TokenProblem.BAD_CHARACTER: "invalid character",
        TokenProblem.BAD_CHECK: "typo, check character does not match",
    },
    scope_problem_short={
        ScopeProblem.WRONG_GROUP: "another group",
        ScopeProblem.WRONG_POSTER: "another clinician",
        ScopeProblem.WRONG_PURPOSE: "another purpose",
    },
    moderator_title="Image {verdict} {in_group}",
    monitor_title="Monitor mode {in_group}",
    monitor_summary=(
        "The image posted by {poster} was left up; outside monitor mode it would have been {would_have}."
    ),
    field_poster="Posted by: {value}",
    field_reason="Reason: {value}",
    reason_labels={
        "consent-valid": "valid consent",
        "consent-unavailable": "consent registry unreachable",
        "detection-failed": "the image could not be checked",
        "unchecked-file": "a kind of file the bot cannot check",
        "exempt-poster": "poster exempted by the group’s policy",
        "no-consent-identifying": "identifying image without valid consent",
        "no-consent-strict": "strict group: every patient image needs consent",
        "no-consent-not-identifying": "nothing identifying seen, no consent",
        "consent-rate-limited": "too many tokens checked by this poster in a short time",
        "consent-withdrawn": "consent withdrawn by the patient",
    },
    field_consent="Consent: {value}",
    field_kinds="Identifying features: {value}",
    field_detection_failed="Check failed: {value}",
    failure_unspecified="no reason given",
    field_item="Reference: {value}",
    kinds_none="none",
    kinds_unnamed="unspecified feature",
    quarantine_advice=(
        "Restore the image if it identifies nobody (a slide, diagram or figure); otherwise leave it removed."
    ),
    repeat_title="Repeated removals",
    repeat_one="{poster} has had 1 image removed {in_group} for lack of patient consent.",
    repeat_many="{poster} has had {count} images removed {in_group} for lack of patient consent.",
    repeat_advice=(
        "A friendly word in private may help: the consent procedure is often simply unfamiliar to colleagues."
    ),
    not_removed=(
        "Your post should have been removed, but the bot could not delete it: please delete it yourself "
        "now. The group’s moderators have been told."
    ),
    removal_refused_title="Removal failed",
    removal_refused="The bot could not delete a post by {poster} {in_group}: it is still visible.",
    removal_refused_link="Message: {link}",
    removal_refused_advice=(
        "Please delete it yourself and check that the bot may delete messages in this group."
    ),
    withdrawn_poster_removed=(
        "Hello, this is the moderation bot {of_group}. The patient withdrew their consent to sharing their "
        "image: the post you made under that consent has been deleted. There is nothing for you to do, and "
        "it may no longer be posted again."
    ),
    withdrawn_poster_not_removed=(
        "Hello, this is the moderation bot {of_group}. The patient withdrew their consent to sharing their "
        "image, but the bot can no longer delete the post you made under that consent: please delete it "
        "yourself now. The moderators have been told."
    ),
    withdrawn_title="Consent withdrawn by the patient",
    withdrawn_removed="The post by {poster} {in_group} made under that consent has been deleted.",
    withdrawn_refused="The bot could not delete the post by {poster} {in_group}: it is still visible.",
    withdrawn_too_old=(
        "The post by {poster} {in_group} is more than 48 hours old: the platform no longer lets the bot "
        "delete it, so it is still visible."
    ),
    withdrawn_link="Message: {link}",
    withdrawn_messages="Message ids: {value}",
    withdrawn_advice="Please delete it yourself now: the patient no longer allows this sharing.",
)
