"""Consent: the token grammar, the consent record and its scope check, and the ConsentLookup port."""
