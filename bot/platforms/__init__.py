"""Platform adapters: they turn SDK updates into Posts and carry out the pipeline's actions."""
