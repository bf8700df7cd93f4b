"""The environment (开发与生产环境): `YC_ENV=dev|prod`, read where the platform decides what
production refuses (the demo's accounts, keys and sources)."""

import os

ENVIRONMENTS = ("dev", "prod")


class EnvironmentRefused(RuntimeError):
    """Production was asked to run with something made for development or the demo."""


def current() -> str:
    name = os.environ.get("YC_ENV", "dev")
    if name not in ENVIRONMENTS:
        raise EnvironmentRefused(f"YC_ENV={name!r}; expected one of {', '.join(ENVIRONMENTS)}")
    return name


def is_prod() -> bool:
    return current() == "prod"
