"""Encryption of secrets at rest (OAuth tokens, API secrets) with Fernet.

The key comes from ROUTY_SECRET_KEY (a Fernet key, or any passphrase, which is stretched with
SHA-256), else from a key file generated once in the data dir with mode 0600.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from routy_app.config import ConfigError, ensure_private_dir, get_settings

KEY_FILE_NAME = "secret.key"


def _fernet_key_from_passphrase(secret: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(secret.encode())
        if len(raw) == 32:
            return secret.encode()
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


def _key_from_file(path: Path) -> bytes:
    if not path.exists():
        ensure_private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
    try:
        key = path.read_bytes().strip()
        Fernet(key)
    except OSError as exc:
        raise ConfigError(f"ROUTY_SECRET_KEY is unset and the key file {path} is unreadable ({exc.strerror})") from None
    except ValueError:
        raise ConfigError(f"ROUTY_SECRET_KEY is unset and the key file {path} does not hold a Fernet key") from None
    return key


class SecretBox:
    """Encrypts and decrypts small secrets; ciphertext is URL-safe text for DB columns."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._fingerprint = hashlib.sha256(b"routy-fingerprint:" + key).digest()

    def key_fingerprint(self) -> bytes:
        """A stable, one-way value derived from the key (to seed other keys; never the key itself)."""
        return self._fingerprint

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "Stored secrets cannot be decrypted: ROUTY_SECRET_KEY changed since they were saved"
            ) from None

    def encrypt_json(self, value: dict[str, Any]) -> str:
        return self.encrypt(json.dumps(value, separators=(",", ":")))

    def decrypt_json(self, ciphertext: str) -> dict[str, Any]:
        return json.loads(self.decrypt(ciphertext))


@functools.lru_cache(maxsize=1)
def get_box() -> SecretBox:
    """The process-wide box built from the current settings."""
    settings = get_settings()
    if settings.secret_key:
        return SecretBox(_fernet_key_from_passphrase(settings.secret_key))
    return SecretBox(_key_from_file(settings.data_dir / KEY_FILE_NAME))


def mask(secret: str, visible: int = 4) -> str:
    """Show only the last characters of a secret, for the UI."""
    if not secret:
        return ""
    return "•" * 8 + secret[-visible:] if len(secret) > visible else "•" * 8
