"""Error tree shared by the whole project.

ConsentGuardError
 ├── ImageError               the input cannot be scanned (the bot fails closed on it)
 │    ├── UnsupportedImageError   bytes of a kind the bot cannot look into (archive, office document,
 │    │                           audio, plain text, password-protected PDF...)
 │    ├── CorruptImageError       a known format (image, DICOM, video, PDF), but truncated or malformed
 │    └── ImageTooLargeError      a decompression bomb, a file over a size, page or decode-time limit
 └── DetectorError            a detector crashed or its model could not load

Messages never carry patient data: no file content, no decoded text, no EXIF value.
"""


class ConsentGuardError(Exception):
    """Root of every error consentguard raises on purpose."""


class ImageError(ConsentGuardError):
    """The input cannot be scanned."""


class UnsupportedImageError(ImageError):
    """Bytes of a kind the bot cannot look into (archive, office document, audio...).

    The moderation pipeline matches this class by name (``error_type == "UnsupportedImageError"``) and
    applies the group's policy for files it cannot check: keep the name.
    """


class CorruptImageError(ImageError):
    """The bytes claim a known format but cannot be decoded."""


class ImageTooLargeError(ImageError):
    """The file or its decoded pixels exceed the configured limits."""


class DetectorError(ConsentGuardError):
    """A detector failed; its verdict is unknown, so callers must fail closed."""
