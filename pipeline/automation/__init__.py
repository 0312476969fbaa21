"""Running without an operator: sensors on the landing folder, the nightly schedule, notifications
and recovery of runs a stopped process left behind."""
