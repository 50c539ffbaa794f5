"""French wording (the default language): formal "vous", typographic apostrophes and « guillemets »."""

from __future__ import annotations

from bot.consent.model import ScopeProblem, TokenProblem
from bot.domain import ConsentState, Verdict
from bot.messages.catalog import NBSP, Catalog
from detectors.base import FindingKind

_CONSENT_HELP = (
    "Pour partager une image de patient dans le groupe :\n"
    "1. Recueillez l’autorisation expresse du patient et enregistrez-la dans le registre des consentements. "
    "Vous obtenez un jeton de la forme CG-XXXX-XXXX-XXXX-XXXX-X.\n"
    "2. Citez ce jeton dans la légende de l’image : #consent CG-XXXX-XXXX-XXXX-XXXX-X\n"
    "Le jeton ne contient aucune donnée sur le patient. Il vaut pour les groupes, les cliniciens et l’usage "
    "(avis, enseignement, publication) convenus avec lui, et le patient peut le révoquer à tout moment."
)

_LEGAL = (
    "Pour rappel, une image qui permet d’identifier un patient est couverte par le secret professionnel, "
    "aussi fermé que soit le groupe (article L1110-4 du Code de la santé publique). La partager sans son "
    f"autorisation expresse expose à des peines allant jusqu’à 1{NBSP}an d’emprisonnement et "
    f"15{NBSP}000{NBSP}€ d’amende (article 226-13 du Code pénal)."
)

_QUOTED = "jeton que vous avez cité"
_CONSENT = f"Le consentement correspondant au {_QUOTED}"

FRENCH = Catalog(
    language="fr",
    kind_labels={
        FindingKind.FACE: "un visage",
        FindingKind.PERSON_NAME: "un nom",
        FindingKind.BIRTH_DATE: "une date de naissance",
        FindingKind.NIR: "un numéro de sécurité sociale (NIR)",
        FindingKind.RECORD_NUMBER: "un numéro de dossier patient",
        FindingKind.MRZ: "la bande de lecture automatique d’une pièce d’identité",
        FindingKind.PHONE: "un numéro de téléphone",
        FindingKind.EMAIL: "une adresse e-mail",
        FindingKind.POSTAL_ADDRESS: "une adresse postale",
        FindingKind.CARE_FACILITY: "le nom d’un établissement de soins",
        FindingKind.PLAIN_TEXT: "du texte lisible",
        FindingKind.BARCODE: "un code-barres ou un QR code",
        FindingKind.EXIF_GPS: "une position GPS dans les métadonnées du fichier",
        FindingKind.EXIF_CAPTURE_TIME: "la date de prise de vue dans les métadonnées du fichier",
        FindingKind.EXIF_DEVICE_OWNER: "le nom du propriétaire de l’appareil dans les métadonnées du fichier",
        FindingKind.EXIF_THUMBNAIL: "une vignette cachée dans les métadonnées du fichier",
        FindingKind.DICOM_PATIENT_TAG: "des données du patient dans l’en-tête DICOM",
    },
    other_kind="un autre élément identifiant",
    list_and="et",
    of_group_named=f"du groupe «{NBSP}{{title}}{NBSP}»",
    of_group_unnamed="de votre groupe",
    in_group_named=f"dans le groupe «{NBSP}{{title}}{NBSP}»",
    in_group_unnamed="dans le groupe",
    verdict_done={
        Verdict.ALLOW: "acceptée",
        Verdict.QUARANTINE: "mise de côté pour examen",
        Verdict.DELETE: "supprimée",
        Verdict.MONITOR: "laissée en place",
    },
    verdict_unknown="retirée",
    greeting="Bonjour, ici {bot}, le robot de modération {of_group}.",
    outcome={
        Verdict.ALLOW: "L’image que vous y avez publiée a été conservée.",
        Verdict.QUARANTINE: (
            "L’image que vous y avez publiée a été mise de côté : elle n’est plus visible dans le groupe "
            "en attendant l’examen d’un modérateur."
        ),
        Verdict.DELETE: "L’image que vous y avez publiée a été supprimée.",
        Verdict.MONITOR: (
            "L’image que vous y avez publiée est restée en ligne, car la règle de consentement y est en "
            "période d’observation. En temps normal, elle aurait été {would_have}."
        ),
    },
    consent_why={
        ConsentState.VALID: "Le jeton de consentement que vous avez cité est valide.",
        ConsentState.MISSING: "La légende de l’image ne cite aucun jeton de consentement.",
        ConsentState.MALFORMED: "Le jeton de consentement que vous avez cité semble mal recopié : {problem}",
        ConsentState.UNKNOWN: f"Le {_QUOTED} ne correspond à aucun consentement du registre.",
        ConsentState.REVOKED: f"Le patient a révoqué le consentement correspondant au {_QUOTED}.",
        ConsentState.EXPIRED: f"{_CONSENT} a expiré.",
        ConsentState.OUT_OF_SCOPE: f"{_CONSENT} {{problem}}",
        ConsentState.USED_UP: f"{_CONSENT} a déjà servi pour toutes les images qu’il autorise.",
        ConsentState.UNAVAILABLE: (
            f"Le registre des consentements n’a pas répondu : le {_QUOTED} n’a pas pu être vérifié."
        ),
        ConsentState.RATE_LIMITED: (
            "Vous avez fait vérifier trop de jetons de consentement en peu de temps : par sécurité, le "
            f"{_QUOTED} n’a pas été vérifié. Réessayez dans quelques minutes."
        ),
    },
    token_problem_why={
        TokenProblem.WRONG_LENGTH: (
            "il n’a pas la bonne longueur (CG- suivi de 16 caractères, puis d’un caractère de contrôle)."
        ),
        TokenProblem.BAD_CHARACTER: (
            "il contient un caractère qui ne figure jamais dans un jeton (seulement des chiffres et des "
            "lettres sans accent, jamais de U)."
        ),
        TokenProblem.BAD_CHECK: (
            "son caractère de contrôle ne correspond pas, signe d’une faute de frappe (un caractère changé "
            "ou deux caractères inversés)."
        ),
    },
    malformed_unspecified="il n’a pas pu être lu.",
    scope_problem_why={
        ScopeProblem.WRONG_GROUP: "ne couvre pas ce groupe.",
        ScopeProblem.WRONG_POSTER: "ne vous désigne pas parmi les cliniciens autorisés à partager l’image.",
        ScopeProblem.WRONG_PURPOSE: (
            "ne couvre pas cet usage de l’image (demande d’avis, enseignement ou publication)."
        ),
    },
    scope_problem_unspecified="ne couvre pas cette publication.",
    held_until_checked="L’image reste de côté jusqu’à ce qu’il puisse l’être.",
    kinds_seen=(
        "L’analyse automatique a repéré sur l’image des éléments qui peuvent identifier un patient : {kinds}."
    ),
    kinds_seen_unnamed=(
        "L’analyse automatique a repéré sur l’image un élément qui peut identifier un patient."
    ),
    nothing_seen_strict=(
        "L’analyse automatique n’a rien repéré d’identifiant, mais dans ce groupe toute image de patient "
        "demande un consentement."
    ),
    restore_hint=(
        "S’il s’agit d’une diapositive, d’un schéma ou d’une figure, un modérateur peut la rétablir "
        "en un clic."
    ),
    nothing_seen="L’analyse automatique n’a rien repéré d’identifiant sur l’image.",
    unchecked_file=(
        "Le bot ne peut pas regarder dans ce type de fichier (archive, document bureautique, audio…) ni donc "
        "savoir s’il montre un patient. Publiez les images elles-mêmes, une vidéo ou un PDF, avec le jeton "
        "de consentement du patient s’il en faut un."
    ),
    detection_failed=(
        "L’image n’a pas pu être analysée ; par prudence, elle est traitée comme si elle permettait "
        "d’identifier un patient."
    ),
    legal=_LEGAL,
    review=(
        "Une erreur ? S’il s’agit par exemple d’une diapositive ou d’un schéma sans patient, demandez "
        "l’examen d’un modérateur : {hint}"
    ),
    review_no_hint=(
        "Une erreur ? S’il s’agit par exemple d’une diapositive ou d’un schéma sans patient, contactez un "
        "modérateur du groupe."
    ),
    closing="Merci de votre compréhension.",
    mistake_hint=(
        "Si vous pensez qu’il s’agit d’une erreur, répondez ici ou demandez à un modérateur du groupe."
    ),
    consent_help=_CONSENT_HELP,
    group_notice=(
        "{mention}, une image que vous avez publiée a été retirée en application de la règle du groupe sur "
        "le consentement des patients."
    ),
    group_notice_link="Pour en savoir plus, ouvrez une conversation privée avec moi : {link}",
    group_notice_no_link="Pour en savoir plus, ouvrez une conversation privée avec moi.",
    consent_short={
        ConsentState.VALID: "valide",
        ConsentState.MISSING: "aucun jeton cité",
        ConsentState.MALFORMED: "jeton mal recopié",
        ConsentState.UNKNOWN: "jeton inconnu du registre",
        ConsentState.REVOKED: "révoqué par le patient",
        ConsentState.EXPIRED: "expiré",
        ConsentState.OUT_OF_SCOPE: "ne couvre pas cette publication",
        ConsentState.USED_UP: "nombre d’images autorisé atteint",
        ConsentState.UNAVAILABLE: "registre injoignable, vérification en attente",
        ConsentState.RATE_LIMITED: "trop de jetons vérifiés par cet auteur, vérification en attente",
    },
    token_problem_short={
        TokenProblem.WRONG_LENGTH: "longueur incorrecte",
        TokenProblem.BAD_CHARACTER: "caractère invalide",
        TokenProblem.BAD_CHECK: "faute de frappe, caractère de contrôle faux",
    },
    scope_problem_short={
        ScopeProblem.WRONG_GROUP: "autre groupe",
        ScopeProblem.WRONG_POSTER: "autre clinicien",
        ScopeProblem.WRONG_PURPOSE: "autre usage",
    },
    moderator_title="Image {verdict} {in_group}",
    monitor_title="Mode observation {in_group}",
    monitor_summary=(
        "L’image publiée par {poster} est restée en ligne ; hors mode observation, elle aurait été "
        "{would_have}."
    ),
    field_poster="Auteur : {value}",
    field_reason="Motif : {value}",
    reason_labels={
        "consent-valid": "consentement valide",
        "consent-unavailable": "registre des consentements injoignable",
        "detection-failed": "analyse de l’image impossible",
        "unchecked-file": "type de fichier que le bot ne peut pas analyser",
        "exempt-poster": "auteur exempté par la politique du groupe",
        "no-consent-identifying": "image identifiante sans consentement valide",
        "no-consent-strict": "groupe strict : toute image de patient demande un consentement",
        "no-consent-not-identifying": "rien d’identifiant repéré, pas de consentement",
        "consent-rate-limited": "trop de jetons vérifiés par cet auteur en peu de temps",
        "consent-withdrawn": "consentement retiré par le patient",
    },
    field_consent="Consentement : {value}",
    field_kinds="Éléments repérés : {value}",
    field_detection_failed="Analyse impossible : {value}",
    failure_unspecified="raison non précisée",
    field_item="Référence : {value}",
    kinds_none="aucun",
    kinds_unnamed="élément non précisé",
    quarantine_advice=(
        "Rétablissez l’image si elle ne permet d’identifier personne (diapositive, schéma, figure) ; "
        "sinon, laissez-la retirée."
    ),
    repeat_title="Retraits répétés",
    repeat_one="{poster} a eu 1 image retirée {in_group} faute de consentement du patient.",
    repeat_many="{poster} a eu {count} images retirées {in_group} faute de consentement du patient.",
    repeat_advice=(
        "Un échange direct et bienveillant peut l’aider : la procédure de consentement est souvent "
        "simplement méconnue."
    ),
    not_removed=(
        "Votre publication aurait dû être retirée, mais le bot n’a pas pu la supprimer\u00a0: merci de la "
        "supprimer vous-même dès maintenant. Les modérateurs du groupe sont prévenus."
    ),
    removal_refused_title="Retrait impossible",
    removal_refused=(
        "Le bot n’a pas pu supprimer une publication de {poster} {in_group}\u00a0: elle est toujours visible."
    ),
    removal_refused_link="Message\u00a0: {link}",
    removal_refused_advice=(
        "Supprimez-la vous-même et vérifiez que le bot a le droit de supprimer des messages dans ce groupe."
    ),
    withdrawn_poster_removed=(
        "Bonjour, ici le robot de modération {of_group}. Le patient a retiré son consentement au partage de "
        "son image : la publication que vous aviez faite avec ce consentement a été supprimée. Vous n’avez "
        "rien à faire, et plus le droit de la republier."
    ),
    withdrawn_poster_not_removed=(
        "Bonjour, ici le robot de modération {of_group}. Le patient a retiré son consentement au partage de "
        "son image, mais le bot ne peut plus supprimer la publication que vous aviez faite avec ce "
        f"consentement{NBSP}: merci de la supprimer vous-même dès maintenant. Les modérateurs sont prévenus."
    ),
    withdrawn_title="Consentement retiré par le patient",
    withdrawn_removed="La publication de {poster} {in_group} faite avec ce consentement a été supprimée.",
    withdrawn_refused=(
        f"Le bot n’a pas pu supprimer la publication de {{poster}} {{in_group}}{NBSP}: elle est toujours "
        "visible."
    ),
    withdrawn_too_old=(
        f"La publication de {{poster}} {{in_group}} a plus de 48{NBSP}heures{NBSP}: la plateforme ne "
        f"permet plus au bot de la supprimer, elle est toujours visible."
    ),
    withdrawn_link=f"Message{NBSP}: {{link}}",
    withdrawn_messages=f"Messages n°{NBSP}{{value}}",
    withdrawn_advice="Supprimez-la vous-même dès maintenant : le patient n’autorise plus ce partage.",
)
