"""The reference consent registry: storage, API keys, the HTTP API and the operator functions.

The bot talks to any registry that speaks the contract in ``docs/consent-api.md``; this one is the reference
implementation, small enough to run next to the bot on one machine (SQLite) or behind a load balancer
(PostgreSQL).
"""
