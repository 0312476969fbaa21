"""Language and sentiment of social mentions: language detection, the per-language scorers, and
their measurement against human labels."""
