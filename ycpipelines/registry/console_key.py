"""The console's key (控制台密钥): encrypts TOTP secrets at rest (Fernet) and seals session and
credential rows (HMAC-SHA256), from `YC_CONSOLE_KEY`; in development it is made once under
`$YC_HOME/keys` (0600), production refuses to run without it."""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

from ycpipelines.foundation.environment import is_prod
from ycpipelines.foundation.settings import Settings
from ycpipelines.registry.anchor import create_private
from ycpipelines.registry.errors import RegistryError

KEY_FILE = "console.key"


def console_secret(settings: Settings) -> bytes:
    """The configured secret, or (development only) the one made under `$YC_HOME/keys`."""
    secret = settings.console_key.get_secret_value().strip() if settings.console_key else ""
    if not secret and is_prod(settings):
        raise RegistryError("YC_ENV=prod: YC_CONSOLE_KEY must be set")
    key = secret.encode() or create_private(
        settings.home / "keys" / KEY_FILE, secrets.token_hex(32).encode()
    )
    if len(key.strip()) < 32:
        raise RegistryError("the console key must be a secret of at least 32 characters")
    return key.strip()


def derived(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, purpose.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class ConsoleKey:
    """Two keys derived from the console secret: one encrypts, one seals."""

    fernet: Fernet
    seal_key: bytes

    @classmethod
    def load(cls, settings: Settings) -> "ConsoleKey":
        secret = console_secret(settings)
        fernet = Fernet(base64.urlsafe_b64encode(derived(secret, "totp-secrets")))
        return cls(fernet, derived(secret, "console-sessions"))

    def encrypt(self, text: str) -> str:
        return self.fernet.encrypt(text.encode()).decode()

    def decrypt(self, token: str) -> str | None:
        """The plain text, or None when the token was not made with this key or was edited."""
        try:
            return self.fernet.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError):
            return None

    def seal(self, *parts: str) -> str:
        text = "\x1f".join(parts)
        return hmac.new(self.seal_key, text.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def verify_seal(stored: str, expected: str) -> bool:
        return hmac.compare_digest(stored.encode(), expected.encode())
