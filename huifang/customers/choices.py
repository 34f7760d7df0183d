"""Stable codes of the customer domain (DOMAIN.md "Stable codes"): labels translate, codes never change."""

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Tier(models.TextChoices):
    """VIP tier (客户等级)."""

    DIAMOND = "diamond", _("Diamond")
    GOLD = "gold", _("Gold")
    SILVER = "silver", _("Silver")
    REGULAR = "regular", _("Regular")


class CustomerStatus(models.TextChoices):
    NORMAL = "normal", _("Normal")
    DORMANT = "dormant", _("Dormant")
    CLOSED = "closed", _("Closed")
    # 撤指定: the customer withdrew the designated trading of their account from this firm.
    DESIGNATION_WITHDRAWN = "designation_withdrawn", _("Designation withdrawn")


class RiskRating(models.TextChoices):
    """The investor suitability rating (适当性) C1 (most conservative) to C5."""

    C1 = "C1", _("C1 conservative")
    C2 = "C2", _("C2 cautious")
    C3 = "C3", _("C3 balanced")
    C4 = "C4", _("C4 active")
    C5 = "C5", _("C5 aggressive")


class IdType(models.TextChoices):
    """Identity document (证件类型)."""

    ID_CARD = "id_card", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    MILITARY = "military", _("Military officer ID")
    HK_MACAO = "hk_macao", _("Mainland travel permit for Hong Kong and Macao residents")
    TAIWAN = "taiwan", _("Mainland travel permit for Taiwan residents")
    FOREIGN_RESIDENT = "foreign_resident", _("Foreigner's permanent residence card")
    BUSINESS_LICENSE = "business_license", _("Business licence")
    OTHER = "other", _("Other")


class ContactKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    LANDLINE = "landline", _("Landline")


class ContactValidity(models.TextChoices):
    UNKNOWN = "unknown", _("Not checked")
    VALID = "valid", _("Valid")
    INVALID = "invalid", _("Invalid")
    # A context of its own: the audit log's "Changed" (修改, huifang/locale) would win over this catalog's.
    CHANGED = "changed", pgettext_lazy("phone validity", "Changed")


class EventType(models.TextChoices):
    ACCOUNT_OPENED = "account_opened", _("Account opened")
    ACCOUNT_CLOSED = "account_closed", _("Account closed")
    DESIGNATION_WITHDRAWN = "designation_withdrawn", _("Designation withdrawn")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    PRODUCT_PURCHASED = "product_purchased", _("Product purchased")
    MANAGER_CHANGED = "manager_changed", _("Client manager changed")
    LOGIN = "login", _("Login")
    RISK_FLAGGED = "risk_flagged", _("Risk flag")
    INFO_CHANGED = "info_changed", _("Information changed")
    RIGHTS_ISSUE = "rights_issue", _("Rights issue")
    CONTRACT_EXPIRING = "contract_expiring", _("Contract expiring")
    POINTS_EXPIRING = "points_expiring", _("Points expiring")
    PERMISSION_OPENED = "permission_opened", _("Trading permission opened")
    HIGH_RISK_SALE = "high_risk_sale", _("High-risk product sale")
    PRIVATE_FUND_SIGNED = "private_fund_signed", _("Private fund signed")
    COMPLAINT_CLOSED = "complaint_closed", _("Complaint closed")
    BIRTHDAY = "birthday", _("Birthday")


#: Labels of the keys that event data (CustomerEvent.data) carries, in the order the customer view lists them;
#: a key not named here is shown as it is, after these. In a context of their own: the same English words are
#: translated otherwise in other catalogs, and huifang/locale (LOCALE_PATHS) wins over an app's catalog.
EVENT_DATA_LABELS: dict[str, Promise] = {
    "amount": pgettext_lazy("event data", "Amount"),
    "product": pgettext_lazy("event data", "Product"),
    "product_code": pgettext_lazy("event data", "Product code"),
    "product_name": pgettext_lazy("event data", "Product name"),
    "product_type": pgettext_lazy("event data", "Product type"),
    "product_risk": pgettext_lazy("event data", "Product risk level"),
    "customer_risk": pgettext_lazy("event data", "Customer risk rating"),
    "bank": pgettext_lazy("event data", "Bank"),
    "channel": pgettext_lazy("event data", "Channel"),
    "ip": pgettext_lazy("event data", "IP address"),
    "old_manager": pgettext_lazy("event data", "Previous client manager"),
    "new_manager": pgettext_lazy("event data", "New client manager"),
    "from_agent_no": pgettext_lazy("event data", "Previous client manager (agent number)"),
    "to_agent_no": pgettext_lazy("event data", "New client manager (agent number)"),
    "fields": pgettext_lazy("event data", "Changed items"),
    "field": pgettext_lazy("event data", "Changed field"),
    "label": pgettext_lazy("event data", "Field name"),
    "old_status": pgettext_lazy("event data", "Previous status"),
    "new_status": pgettext_lazy("event data", "New status"),
    "permission": pgettext_lazy("event data", "Trading permission"),
    "security": pgettext_lazy("event data", "Security"),
    "kind": pgettext_lazy("event data", "Kind"),
    "contract": pgettext_lazy("event data", "Contract"),
    "expires_on": pgettext_lazy("event data", "Expires on"),
    "points": pgettext_lazy("event data", "Points"),
    "category": pgettext_lazy("event data", "Category"),
    "satisfied": pgettext_lazy("event data", "Satisfied"),
    "level": pgettext_lazy("event data", "Level"),
    "reason": pgettext_lazy("event data", "Reason"),
    "to_firm": pgettext_lazy("event data", "Moved to"),
    "birthday": pgettext_lazy("event data", "Birthday"),
}

#: Event data keys whose value is a customer status code (CustomerStatus), shown by its label.
EVENT_DATA_STATUS_KEYS = frozenset({"old_status", "new_status"})


class ImportKind(models.TextChoices):
    """What a file holds (imports.profiles.Kind)."""

    CUSTOMERS = "customers", _("Customers")
    EVENTS = "events", _("Business events")


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
