"""Model files shipped with the package (BlazeFace, Apache-2.0; checksums in SHA256SUMS)."""
