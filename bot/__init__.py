"""The moderation bot: pipeline, policy, consent, quarantine, audit and platform adapters."""
