"""Operators' view of the running bot: the Metrics port's adapters (Prometheus)."""
