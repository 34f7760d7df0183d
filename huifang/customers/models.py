"""Customers (客户) as the counter / CRM system knows them, their phones and their business events.

Every model is branch-scoped: Customer through its branch, the others through their customer's branch.
Clear phone numbers are stored here (normalised, lib.phones) and only ever shown masked; revealing one is
an audited service (services.reveal_contact_number)."""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huifang.customers.choices import (
    ContactKind,
    ContactValidity,
    CustomerStatus,
    EventType,
    IdType,
    ImportKind,
    ImportStatus,
    RiskRating,
    Tier,
)
from huifang.customers.rules import phone_last4
from huifang.lib.masking import mask_email, mask_phone
from huifang.org.models import Branch
from huifang.org.scoping import BranchScopedQuerySet


class CustomerQuerySet(BranchScopedQuerySet):
    branch_path = "branch"


class CustomerChildQuerySet(BranchScopedQuerySet):
    branch_path = "customer__branch"


class Customer(models.Model):
    # A string: counter systems give numbers with leading zeros (0310100000123).
    customer_no = models.CharField(_("customer number"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    # No index of its own: customer_branch_no_idx starts with branch.
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="customers", db_index=False
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("client manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_customers",
    )
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, default=Tier.REGULAR)
    open_date = models.DateField(_("account opened on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=30, choices=CustomerStatus.choices, default=CustomerStatus.NORMAL
    )
    risk_rating = models.CharField(_("risk rating"), max_length=2, choices=RiskRating.choices, blank=True)
    assets = models.DecimalField(_("assets"), max_digits=18, decimal_places=2, default=0)
    email = models.EmailField(_("e-mail"), blank=True)
    id_type = models.CharField(_("ID type"), max_length=20, choices=IdType.choices, blank=True)
    # The ID number never in clear: encrypted (lib.fieldcrypt, "v1:..."), masked for display, and a keyed hash
    # of the normalised number for exact lookup. Written only by the import services, revealed only audited.
    id_no_encrypted = models.TextField(_("ID number (encrypted)"), blank=True, editable=False)
    id_no_masked = models.CharField(_("ID number"), max_length=40, blank=True, editable=False)
    id_no_hash = models.CharField(_("ID number lookup hash"), max_length=64, blank=True, editable=False)
    products = models.JSONField(_("products held"), default=list, blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["customer_no"]
        indexes = [
            # customer list of one branch, ordered by customer number (HQ's list uses the unique index)
            models.Index(fields=["branch", "customer_no"], name="customer_branch_no_idx"),
            # search by name prefix (queries.search_customers); the operator class lets PostgreSQL's LIKE 'x%'
            # use it whatever the collation, and is ignored on SQLite (searched by range there)
            models.Index(fields=["name"], name="customer_name_idx", opclasses=["varchar_pattern_ops"]),
            # the same search within one branch (everyone but HQ)
            models.Index(fields=["branch", "name"], name="customer_branch_name_idx",
                         opclasses=["int8_ops", "varchar_pattern_ops"]),
            # rules over new accounts: customers of a branch opened in a date range
            models.Index(fields=["branch", "open_date"], name="customer_branch_opened_idx"),
            # exact lookup by ID number (queries.customers_with_id_no): only rows that have one
            models.Index(fields=["id_no_hash"], name="customer_id_hash_idx", condition=~Q(id_no_hash="")),
        ]

    def __str__(self) -> str:
        return f"{self.customer_no} {self.name}"

    @property
    def masked_email(self) -> str:
        return mask_email(self.email) if self.email else ""


class ContactPoint(models.Model):
    """One phone number of a customer, stored in the normalised form of lib.phones."""

    # No index of its own: the unique (customer, number) constraint starts with customer.
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contact_points",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ContactKind.choices)
    number = models.CharField(_("number"), max_length=30)
    # Derived from number on save (rules.phone_last4): the search "by the last four digits of a phone".
    last4 = models.CharField(_("last four digits"), max_length=4, blank=True, editable=False)
    validity = models.CharField(
        _("validity"), max_length=20, choices=ContactValidity.choices, default=ContactValidity.UNKNOWN
    )
    # where the number came from: "counter", "import", "agent", "demo"...
    source = models.CharField(_("source"), max_length=30, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = CustomerChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact point")
        verbose_name_plural = _("contact points")
        ordering = ["customer", "-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "number"], name="contactpoint_unique_number"),
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_primary=True), name="contactpoint_one_primary"
            ),
        ]
        indexes = [
            # who owns this number: caller identification and duplicate-number checks
            models.Index(fields=["number"], name="contactpoint_number_idx"),
            # customer search by the last four digits of a phone (queries.search_customers)
            models.Index(fields=["last4"], name="contactpoint_last4_idx"),
        ]

    def __str__(self) -> str:
        # Masked: this string lands in audit entries and admin pages.
        return f"{self.customer_id} {self.get_kind_display()} {self.masked_number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.last4 = phone_last4(self.number)
        super().save(*args, **kwargs)

    @property
    def masked_number(self) -> str:
        return mask_phone(self.number)

    @property
    def branch(self) -> Branch:
        """The customer's branch, so that audit entries about a phone carry the branch code."""
        return self.customer.branch


class CustomerEvent(models.Model):
    """A business event (业务事件) that may trigger a callback; arrives by import, API push or sync."""

    # No index of its own: event_customer_time_idx starts with customer.
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="events", db_index=False
    )
    type = models.CharField(_("type"), max_length=40, choices=EventType.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    data = models.JSONField(_("data"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=30, blank=True)
    # The sender's id of the event: a re-sent event is recognised by (source, external_id).
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)

    objects = CustomerChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer event")
        verbose_name_plural = _("customer events")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="customerevent_unique_external_id",
            )
        ]
        indexes = [
            # a customer's event timeline, newest first (customer detail, agent's customer view)
            models.Index(fields=["customer", "occurred_at"], name="event_customer_time_idx"),
            # rules: events of one type in a period ("yesterday's transfers out")
            models.Index(fields=["type", "occurred_at"], name="event_type_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.occurred_at:%Y-%m-%d %H:%M}"

    def summary_items(self) -> list[tuple[str, Any]]:
        """The event's data as (key, value) pairs for display."""
        return sorted(self.data.items()) if isinstance(self.data, dict) else []


class DoNotCall(models.Model):
    """The do-not-call list (免打扰名单, REGULATION items 15–16): a customer who refused marketing gets no MARKETING
    callback from `since` to `until` (included; null: indefinitely, until re-consent). Service callbacks go on."""

    # The queue's check: an EXISTS on (customer) per candidate, served by the foreign key's index.
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="do_not_call"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    since = models.DateTimeField(_("since"))
    until = models.DateField(_("until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_index=False,
    )

    objects = CustomerChildQuerySet.as_manager()

    class Meta:
        verbose_name = _("do-not-call entry")
        verbose_name_plural = _("do-not-call list")
        ordering = ["customer", "-since", "-id"]

    def __str__(self) -> str:
        return f"{self.customer_id} 免打扰至 {self.until or '长期'}"


class ImportRunQuerySet(BranchScopedQuerySet):
    branch_path = "branch"


class ImportProfileQuerySet(BranchScopedQuerySet):
    branch_path = "branch"

    def usable_by(self, principal: Any) -> "ImportProfileQuerySet":
        """The profiles `principal` may choose: the company-wide ones (no branch) and those of the branches it
        sees."""
        return self.visible_to(principal) | self.filter(branch__isnull=True)


class ImportProfile(models.Model):
    """A saved column mapping (导入方案) of a file layout: one header per field (imports.profiles.saved_profile).
    Made by HQ: company-wide (no branch); made by a branch: that branch's."""

    name = models.CharField(_("name"), max_length=50)
    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    #: {field: header}
    mapping = models.JSONField(_("column mapping"), default=dict)
    # No index of its own: the unique (branch, kind, name) constraint starts with branch.
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="import_profiles", db_index=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = ImportProfileQuerySet.as_manager()

    class Meta:
        verbose_name = _("import profile")
        verbose_name_plural = _("import profiles")
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["branch", "kind", "name"], name="importprofile_unique_name"),
            # NULLs are distinct in a unique constraint: the company-wide names need their own
            models.UniqueConstraint(fields=["kind", "name"], condition=Q(branch__isnull=True),
                                    name="importprofile_unique_company_name"),
        ]

    def __str__(self) -> str:
        return self.name


class ImportRun(models.Model):
    """One uploaded file and its import (客户资料导入), run as a background job (customers.jobs.run_import).
    The file and its rejects file live under VAR_DIR/imports/<uuid>/ (paths stored relative to VAR_DIR)."""

    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    file_name = models.CharField(_("file name"), max_length=255)
    stored_file = models.CharField(_("stored file"), max_length=300, editable=False)
    #: the built-in profile's name or the saved profile's name ("" until detected when none was chosen)
    profile_name = models.CharField(_("import profile"), max_length=100, blank=True)
    #: {field: header} of a saved or hand-made mapping, copied at upload; empty for a built-in profile
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=ImportStatus.choices,
                              default=ImportStatus.QUEUED)
    #: rows read so far (progress while running); rows_total is an estimate from the file's size in lines
    rows_read = models.PositiveIntegerField(_("rows read so far"), default=0)
    rows_total = models.PositiveIntegerField(_("rows (estimate)"), null=True, blank=True)
    read_count = models.PositiveIntegerField(_("read"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected"), default=0)
    #: [{"line", "column", "message"}], the first ERRORS_KEPT refusals (all are in the rejects file)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    ignored_columns = models.JSONField(_("ignored columns"), default=list, blank=True)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    failure = models.TextField(_("failure"), blank=True)
    rejects_file = models.CharField(_("rejects file"), max_length=300, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("imported by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    # The importer's branch: who sees the run (its rows may only go to the branches the importer may reach).
    # No index of its own: importrun_branch_created_idx starts with branch.
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="import_runs", db_index=False,
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ImportRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [
            # a branch's imports, newest first (the import page)
            models.Index(fields=["branch", "-created_at"], name="importrun_branch_created_idx"),
            # every import, newest first (the import page for HQ)
            models.Index(fields=["-created_at"], name="importrun_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)
