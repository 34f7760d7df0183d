import pytest

from huifang.lib.fieldcrypt import FieldCipher, FieldDecryptionError


def test_a_value_encrypts_differently_each_time_and_decrypts_back() -> None:
    cipher = FieldCipher("k1")
    first, second = cipher.encrypt("31010119900307123X"), cipher.encrypt("31010119900307123X")
    assert first != second and first.startswith("v1:")
    assert "31010119900307123X" not in first
    assert cipher.decrypt(first) == cipher.decrypt(second) == "31010119900307123X"


def test_another_key_cannot_open_it() -> None:
    token = FieldCipher("k1").encrypt("31010119900307123X")
    with pytest.raises(FieldDecryptionError):
        FieldCipher("k2").decrypt(token)


def test_an_altered_value_is_refused() -> None:
    cipher = FieldCipher("k1")
    token = cipher.encrypt("31010119900307123X")
    altered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    with pytest.raises(FieldDecryptionError):
        cipher.decrypt(altered)
    with pytest.raises(FieldDecryptionError):
        cipher.decrypt("31010119900307123X")


def test_lookup_hash_is_stable_and_keyed() -> None:
    assert FieldCipher("k1").lookup_hash("110") == FieldCipher("k1").lookup_hash("110")
    assert FieldCipher("k1").lookup_hash("110") != FieldCipher("k2").lookup_hash("110")
    assert FieldCipher("k1").lookup_hash("110") != FieldCipher("k1").lookup_hash("111")
