"""LLM and agent traces: the normalised span row, the dialect table, normalisation and prices."""
