import hashlib
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from huifang.org.scoping import BranchScopedQuerySet


class Branch(models.Model):
    """Headquarters (exactly one, is_headquarters) or a branch office (营业部)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    is_headquarters = models.BooleanField(_("headquarters"), default=False)
    city = models.CharField(_("city"), max_length=50, blank=True)
    phone = models.CharField(_("telephone"), max_length=30, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        ordering = ["-is_headquarters", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_headquarters"], condition=Q(is_headquarters=True), name="org_branch_one_headquarters"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    """A department that owns problems routed to it (合规部, 经纪业务部, ...); belongs to HQ or a branch."""

    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="departments")
    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = BranchScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["branch__code", "code"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="teams")
    name = models.CharField(_("name"), max_length=100)
    lead = models.ForeignKey(
        "org.User", verbose_name=_("team lead"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = BranchScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["branch__code", "name"]
        constraints = [models.UniqueConstraint(fields=["branch", "name"], name="org_team_unique_name_per_branch")]

    def __str__(self) -> str:
        return self.name


class UserQuerySet(BranchScopedQuerySet):
    pass


class HuifangUserManager(UserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    pass


class User(AbstractUser):
    """A person who logs in. Every user but a superuser belongs to a branch; HQ users see all branches."""

    name = models.CharField(_("full name"), max_length=50, blank=True)
    agent_no = models.CharField(_("agent number"), max_length=20, null=True, blank=True, unique=True)
    extension = models.CharField(_("telephone extension"), max_length=20, blank=True)
    branch = models.ForeignKey(
        Branch, verbose_name=_("branch"), null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="members",
    )

    objects: ClassVar[HuifangUserManager] = HuifangUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self) -> str:
        return f"{self.name or self.username}（{self.agent_no}）" if self.agent_no else (self.name or self.username)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # An empty agent number is "none", so that uniqueness only binds users who have one.
        if not self.agent_no:
            self.agent_no = None
        super().save(*args, **kwargs)

    @property
    def role_codes(self) -> set[str]:
        cached: set[str] | None = getattr(self, "_role_codes", None)
        if cached is None:
            cached = set(self.groups.values_list("name", flat=True)) if self.pk else set()
            self._role_codes = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_codes.intersection(roles))


#: how an API token starts, so that a leaked one is recognisable in logs and by secret scanners
API_TOKEN_PREFIX = "hf_"
#: how many leading characters of a token are kept in clear, to tell clients apart in lists
API_TOKEN_SHOWN_CHARS = 8


def hash_api_token(token: str) -> str:
    """The SHA-256 hex digest stored for a token. Tokens carry 256 random bits, so no salt or slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiClient(models.Model):
    """A CRM or counter system calling the REST API with a bearer token, limited to some branches (or all)
    and to some scopes (choices.ApiScope). Only the token's hash is stored; the clear token is shown once."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    branches = models.ManyToManyField(Branch, verbose_name=_("branches"), blank=True, related_name="api_clients")
    all_branches = models.BooleanField(_("all branches"), default=False)
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    token_prefix = models.CharField(_("token prefix"), max_length=API_TOKEN_SHOWN_CHARS)
    # unique: the bearer authentication looks a client up by the hash of the token it presents
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
