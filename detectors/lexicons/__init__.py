"""Word lists (plain text, one folded word per line) read once by :mod:`detectors.names`."""
