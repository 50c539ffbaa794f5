"""Error tree shared by the whole project.

ConsentGuardError
 ├── ImageError               the input cannot be scanned (the bot fails closed on it)
 │    ├── UnsupportedImageError   not an image format we read (a text file named .jpg)
 │    ├── CorruptImageError       a known format, but truncated or malformed
 │    └── ImageTooLargeError      a decompression bomb or a file over the size limit
 └── DetectorError            a detector crashed or its model could not load

Messages never carry patient data: no file content, no decoded text, no EXIF value.
"""


class ConsentGuardError(Exception):
    """Root of every error consentguard raises on purpose."""


class ImageError(ConsentGuardError):
    """The input cannot be scanned."""


class UnsupportedImageError(ImageError):
    """The bytes are not in an image format consentguard reads."""


class CorruptImageError(ImageError):
    """The bytes claim a known format but cannot be decoded."""


class ImageTooLargeError(ImageError):
    """The file or its decoded pixels exceed the configured limits."""


class DetectorError(ConsentGuardError):
    """A detector failed; its verdict is unknown, so callers must fail closed."""
