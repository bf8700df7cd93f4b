"""Server-side sessions (会话): the cookie holds a random token, the registry keeps its hash, the
stage reached (password, TOTP enrolment, password change, signed in) and the CSRF token."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from ycpipelines.console.context import App, Console
from ycpipelines.foundation.environment import is_prod
from ycpipelines.registry.credentials import ConsoleSessionView, Stage

COOKIE = "ycp_session"
# Where each unfinished stage continues; a signed-in session goes home.
STAGE_PAGES = {
    Stage.PASSWORD: "/login/totp",
    Stage.ENROL: "/login/enrol",
    Stage.CHANGE: "/password",
    Stage.FULL: "/",
}


class SignInNeeded(Exception):
    """No signed-in session: pages redirect to `where`, the JSON API answers 401."""

    def __init__(self, where: str = "/login") -> None:
        super().__init__(where)
        self.where = where


@dataclass(frozen=True)
class Viewer:
    """The signed-in account and its roles as the audit chain vouches for them (谁使用谁负责)."""

    name: str
    roles: frozenset[str]
    csrf: str

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def scoped(self, kind: str) -> frozenset[str]:
        """The ids of the account's `kind:<id>` roles (its consumers or bureaus)."""
        return frozenset(r.split(":", 1)[1] for r in self.roles if r.startswith(f"{kind}:"))


def token_of(request: Request) -> str | None:
    return request.cookies.get(COOKIE) or None


def session_of(request: Request, app: Console) -> ConsoleSessionView | None:
    """The request's live session, if any (expired and unknown tokens give None); read once
    per request."""
    if not hasattr(request.state, "session"):
        token = token_of(request)
        request.state.session = app.registry.console_session(token) if token else None
    return request.state.session


def viewer(request: Request, app: App) -> Viewer:
    """The signed-in viewer (a dependency); an unfinished or missing session must sign in."""
    found = session_of(request, app)
    if found is None:
        raise SignInNeeded()
    if found.stage != Stage.FULL:
        raise SignInNeeded(STAGE_PAGES[found.stage])
    roles = frozenset(app.registry.verified_roles(found.user))
    seen = Viewer(name=found.user, roles=roles, csrf=found.csrf)
    request.state.viewer = seen
    return seen


def at_stage(stage: Stage) -> object:
    """A dependency: the session that must be at `stage` (a step of signing in)."""

    def dependency(request: Request, app: App) -> ConsoleSessionView:
        found = session_of(request, app)
        if found is None:
            raise SignInNeeded()
        if found.stage != stage:
            raise SignInNeeded(STAGE_PAGES[found.stage])
        return found

    return Depends(dependency)


SignedIn = Annotated[Viewer, Depends(viewer)]
AwaitingCode = Annotated[ConsoleSessionView, at_stage(Stage.PASSWORD)]
Enrolling = Annotated[ConsoleSessionView, at_stage(Stage.ENROL)]


def secure_cookies(app: Console) -> bool:
    """Cookies only over TLS when configured, and always in production."""
    return app.settings.console_secure_cookies or is_prod()


def set_session(response: Response, token: str, app: Console) -> None:
    """Put a (new) session token in the cookie: HttpOnly, SameSite=Strict."""
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(app),
        path="/",
    )


def end_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")
