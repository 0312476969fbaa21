"""Sentiment of social mentions: the per-language scorers (the language by pipeline/language.py,
which ingestion's code-page guess asks too), and their measurement against human labels."""
