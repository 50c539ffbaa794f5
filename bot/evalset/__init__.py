"""An evaluation set generated at run time: labelled photos of names and harmless text on ward objects.

``consentguard evalset OUT_DIR`` writes it; ``consentguard bench OUT_DIR --split test`` measures on it.
Images are never committed: the seed makes them, and the labels are right by construction.

Each ``labels.jsonl`` row has the shared corpus fields (``file``, ``faces``, ``identifying_text``,
``barcode``, ``exif_gps``, ``dicom_phi``, ``category``, ``source``, ``license``) and:

- ``split``: "tune" or "test", half each, stratified by layout and positive/negative;
- ``layout``: bed_sign, wristband, monitor, pacs, form, tube, whiteboard, ward_sign, scale_chart, clean;
- ``case``: "name-unlabelled", "name-labelled", "harmless-text" or "clean";
- ``origin``: the name pool the patient was drawn from (null without a name);
- ``unlabelled_name``: the identifying text is a name with no field label ("Nom :", "Name:");
- ``name_format``, ``language``, ``font``, ``text_px`` (em size of the identifying text in the final
  image, or of the main text), ``severity`` (mild, moderate, severe), ``degradations`` (each step with its
  parameters), ``width``, ``height``, ``text`` (the lines drawn).

Drawn faces that are no one (pain scales, smileys, body charts: layout ``drawing``, case ``drawn-faces``)
come after the main images, so that the face detector's false positives on drawings are measured too. Real
faces in clinical settings (layout ``face``, case ``face-<setting>``: masks, cannula, lying in bed, cut by
the frame, small, dark, over-exposed, darker skin; ``bot.evalset.faces``) come after the drawings, with
``portrait`` and ``face_px`` (the face's width in the final image) in their rows.
"""

from bot.evalset.generate import (
    DEFAULT_COUNT,
    DEFAULT_DRAWINGS,
    DEFAULT_FACES,
    DEFAULT_SEED,
    REFERENCE_YEAR,
    generate,
)

__all__ = ["DEFAULT_COUNT", "DEFAULT_DRAWINGS", "DEFAULT_FACES", "DEFAULT_SEED", "REFERENCE_YEAR", "generate"]
