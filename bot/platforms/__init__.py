"""Platform adapters at the edge: Telegram and Discord turn SDK updates into Posts and carry out decisions.

Each implements the Platform port (bot.core.ports) and feeds the pipeline and the review service.
"""
