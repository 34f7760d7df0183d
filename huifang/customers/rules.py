"""Pure decisions about customers: no ORM."""

import re
import unicodedata

CUSTOMER_NO_MAX_LENGTH = 20
_CUSTOMER_NO = re.compile(rf"^[0-9]{{1,{CUSTOMER_NO_MAX_LENGTH}}}$")


class InvalidCustomerNumber(ValueError):
    """Text that cannot be a customer number; the message is for the user (Chinese)."""


def parse_customer_no(raw: str) -> str:
    """A customer number as typed: full-width digits become ASCII, spaces around it are dropped, leading
    zeros are part of it. Raises InvalidCustomerNumber unless it is 1 to 20 digits."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not _CUSTOMER_NO.match(text):
        raise InvalidCustomerNumber(
            f"客户编号格式不正确：应为1至{CUSTOMER_NO_MAX_LENGTH}位数字，收到“{text[:40]}”"
        )
    return text


def looks_like_customer_no(text: str) -> bool:
    """Whether a search text should be matched against customer numbers rather than names."""
    return bool(_CUSTOMER_NO.match(text))


def digits_prefix_upper_bound(prefix: str) -> str | None:
    """The smallest digit string greater than every string that starts with the digits `prefix`
    ("0310" → "0311", "0319" → "032"), or None when there is none ("999"). `prefix <= x < bound` is then a
    prefix match that any collation orders the same way, so a plain index serves it."""
    digits = prefix.rstrip("9")
    if not digits:
        return None
    return digits[:-1] + str(int(digits[-1]) + 1)


def phone_last4(number: str) -> str:
    """The last four digits of a stored number, as a customer says them on the phone: for a landline
    (`021-62345678-8001`) those of the number itself, not of the extension."""
    parts = number.split("-")
    main = parts[1] if len(parts) >= 2 else parts[0]
    return "".join(ch for ch in main if ch.isdigit())[-4:]


def looks_like_last4(text: str) -> bool:
    return len(text) == 4 and text.isascii() and text.isdigit()
