"""Configuration: one Settings object, read once at start-up."""
