"""Encryption of secrets at rest (access tokens, channel secrets) with Fernet.

The key comes from `LUMO_ENCRYPTION_KEY`. Columns declared as `EncryptedText` are encrypted on
the way into the database and decrypted on the way out, so no other code handles ciphertext.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.types import Text, TypeDecorator

_fernet: Fernet | None = None


class SecretUnreadable(RuntimeError):
    """A stored secret cannot be decrypted with the current key."""


def configure_encryption(key: str) -> None:
    """Install the process-wide key; called by `create_app`."""
    global _fernet
    _fernet = Fernet(key.encode())


def _cipher() -> Fernet:
    if _fernet is None:
        raise RuntimeError("Encryption is not configured; create the app with create_app() first.")
    return _fernet


def encrypt(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _cipher().decrypt(ciphertext.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable(
            "A stored secret could not be decrypted: LUMO_ENCRYPTION_KEY changed since it was "
            "saved. Restore the old key or enter the credential again."
        ) from error


class EncryptedText(TypeDecorator[str]):
    """A text column whose value is stored encrypted."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else decrypt(value)
