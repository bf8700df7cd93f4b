"""The registry's refusal."""


class RegistryError(RuntimeError):
    """A registry operation was refused; the message says why."""
