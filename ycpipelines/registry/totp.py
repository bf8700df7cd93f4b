"""The TOTP second factor (动态口令, RFC 6238): 30-second steps, 6 digits, one step either side
accepted; the step a code matched is returned so a used step can be refused."""

import hmac
from datetime import datetime

import pyotp

WINDOW = 1  # steps either side of now that a code may come from (clock drift)


def new_secret() -> str:
    return pyotp.random_base32()


def current_code(secret: str, at: datetime) -> str:
    """The code of the step holding `at` (what an authenticator app shows then)."""
    return pyotp.TOTP(secret, digits=6, interval=30).at(at)


def matched_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code `code` is, within the window around `at`; None if none."""
    code = code.strip()
    if not (len(code) == 6 and code.isdigit()):
        return None
    try:
        totp = pyotp.TOTP(secret, digits=6, interval=30)
        totp.generate_otp(0)
    except ValueError:  # a malformed secret matches nothing
        return None
    now_step = totp.timecode(at)
    found = None
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):  # all compared: no early exit
            found = step
    return found
