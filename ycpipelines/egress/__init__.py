"""出域 Egress: approval sensor, review, publish into consumer zones."""
