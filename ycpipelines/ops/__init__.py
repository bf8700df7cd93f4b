"""Operating the pipelines (运维): environments, alerts, freshness, auditor views, serving."""
