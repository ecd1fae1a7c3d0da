import os
import stat

import pytest

from routy_app import crypto
from routy_app.config import ConfigError, reload_settings


def test_generated_key_file_is_private_and_reused(data_dir):
    box = crypto.get_box()
    token = box.encrypt("ya29.secret-token")
    key_file = data_dir / crypto.KEY_FILE_NAME
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    crypto.get_box.cache_clear()
    assert crypto.get_box().decrypt(token) == "ya29.secret-token"


def test_ciphertext_does_not_contain_plaintext(data_dir):
    ciphertext = crypto.get_box().encrypt("1//refresh-abc")
    assert "refresh-abc" not in ciphertext


def test_passphrase_and_fernet_keys_both_work(data_dir, monkeypatch):
    monkeypatch.setenv("ROUTY_SECRET_KEY", "correct horse battery staple")
    reload_settings()
    crypto.get_box.cache_clear()
    box = crypto.get_box()
    assert box.decrypt_json(box.encrypt_json({"a": 1})) == {"a": 1}
    assert not (data_dir / crypto.KEY_FILE_NAME).exists()


def test_changed_key_gives_a_clear_error(data_dir, monkeypatch):
    ciphertext = crypto.get_box().encrypt("x")
    monkeypatch.setenv("ROUTY_SECRET_KEY", "another key")
    reload_settings()
    crypto.get_box.cache_clear()
    with pytest.raises(ConfigError, match="ROUTY_SECRET_KEY"):
        crypto.get_box().decrypt(ciphertext)


def test_garbage_key_file_is_a_clear_error(data_dir):
    (data_dir / crypto.KEY_FILE_NAME).write_text("not a key")
    with pytest.raises(ConfigError, match="key file"):
        crypto.get_box()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_key_file_is_a_clear_error(data_dir):
    key_file = data_dir / crypto.KEY_FILE_NAME
    key_file.write_text("x")
    key_file.chmod(0)
    with pytest.raises(ConfigError, match="unreadable"):
        crypto.get_box()


def test_key_file_that_is_a_directory_is_a_clear_error(data_dir):
    (data_dir / crypto.KEY_FILE_NAME).mkdir()
    with pytest.raises(ConfigError, match="unreadable"):
        crypto.get_box()


def test_mask_shows_last_four_only():
    assert crypto.mask("sk_live_123456789") == "••••••••6789"
    assert crypto.mask("") == ""
