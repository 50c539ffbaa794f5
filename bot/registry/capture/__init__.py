"""Consent capture: a one-time link, a signed form on the clinician's phone, a receipt, a withdrawal code.

The bot asks for a link (``POST /v1/capture-links``), the patient or guardian signs the form it opens
(``/consent/{secret}``), the registry issues the consent on behalf of the clinician and keeps the signed
record (names and signature sealed), the bot collects the token once (``GET /v1/capture-links/{id}``), and
the receipt's withdrawal code revokes the consent without an account (``/withdraw``).
"""
