"""The registry's refusals."""


class RegistryError(RuntimeError):
    """A registry operation was refused; the message says why."""


class NotFound(RegistryError):
    """No such object (不存在): also what another party's object is to an actor, so whether it
    exists never leaks (the console answers 404)."""
