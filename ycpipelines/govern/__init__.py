"""治理 Govern: standards, quality gates, quarantine."""
