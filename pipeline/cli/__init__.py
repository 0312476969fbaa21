"""The command line (``python -m pipeline``): run, demo, UI launcher, run summary, quarantine
report and docs generation."""
