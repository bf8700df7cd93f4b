"""脱敏 De-identify: Presidio recognizers and engines, column policies, privacy checks."""
