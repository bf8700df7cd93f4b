"""The environment (开发与生产环境): `YC_ENV=dev|prod`, read where the platform decides what
production refuses (the demo's accounts, keys and sources)."""

from ycpipelines.foundation.settings import Settings

ENVIRONMENTS = ("dev", "prod")


class EnvironmentRefused(RuntimeError):
    """Production was asked to run with something made for development or the demo."""


def current(settings: Settings | None = None) -> str:
    name = (settings or Settings()).env
    if name not in ENVIRONMENTS:
        raise EnvironmentRefused(f"YC_ENV={name!r}; expected one of {', '.join(ENVIRONMENTS)}")
    return name


def is_prod(settings: Settings | None = None) -> bool:
    return current(settings) == "prod"


def refuse_in_prod(what: str) -> None:
    """Demo commands and the demo reviewer exist only in development."""
    if is_prod():
        raise EnvironmentRefused(f"YC_ENV=prod: {what} is for development only")
