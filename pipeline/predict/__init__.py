"""Predictive loyalty: BG/NBD (who is still a customer), Gamma-Gamma (what a purchase is worth)."""
