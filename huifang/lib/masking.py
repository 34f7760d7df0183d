"""Masking of personal data for display (DOMAIN.md: phone and ID numbers are shown masked).

Pure string functions, no Django. Each keeps enough to recognise the value and hides the rest:
- mobile `138****5678` (first 3, last 4)
- landline `021-****5678` (area code and last 4 of the subscriber number; an extension is kept)
- ID number (身份证) `310***********123X` (first 3, last 4; for 15 digits too)
- e-mail `z***@example.com` (first character of the local part, the domain)
- bank card `622202*********0123` (first 6, last 4, as PCI DSS allows at most)

Anything too short to mask sensibly is hidden entirely, never shown in clear.
"""

MASK = "*"


def mask_middle(value: str, *, keep_start: int, keep_end: int) -> str:
    """Replace all but the first `keep_start` and last `keep_end` characters by `*`.
    A value no longer than what would be kept is masked in full."""
    if len(value) <= keep_start + keep_end:
        return MASK * len(value)
    hidden = len(value) - keep_start - keep_end
    return value[:keep_start] + MASK * hidden + (value[-keep_end:] if keep_end else "")


def mask_mobile(number: str) -> str:
    """`13812345678` → `138****5678`."""
    return mask_middle(number, keep_start=3, keep_end=4)


def mask_landline(number: str) -> str:
    """`021-62345678` → `021-****5678`; `021-62345678-8001` → `021-****5678-8001`.
    Without a dash the area code is unknown, so only the first 3 and last 4 digits stay."""
    parts = number.split("-")
    if len(parts) < 2:
        return mask_middle(number, keep_start=3, keep_end=4)
    area, subscriber, *extension = parts
    return "-".join([area, mask_middle(subscriber, keep_start=0, keep_end=4), *extension])


def mask_phone(number: str) -> str:
    """A stored phone number (lib.phones form) masked by its kind: 11 digits from 1 are a mobile."""
    if len(number) == 11 and number.isdigit() and number.startswith("1"):
        return mask_mobile(number)
    return mask_landline(number)


def mask_id_number(number: str) -> str:
    """Resident ID number: `31011519900307123X` → `310***********123X` (15-digit numbers alike)."""
    return mask_middle(number.strip().upper(), keep_start=3, keep_end=4)


def mask_email(address: str) -> str:
    """`zhangwei@example.com` → `z***@example.com`. Not an address: masked in full."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        return MASK * len(address)
    return f"{local[0]}***@{domain}"


def mask_bank_card(number: str) -> str:
    """`6222021234567890123` → `622202*********0123`; spaces people type are dropped first."""
    digits = "".join(number.split())
    return mask_middle(digits, keep_start=6, keep_end=4)
