"""Administration pages for the organisation (管理后台 at /manage/). Staff of a branch see only their branch."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from huifang.audit.services import record_action
from huifang.org.models import ApiClient, Branch, Department, Team, User
from huifang.org.queries import may_manage_api_clients
from huifang.org.scoping import branch_q, sees_all_branches
from huifang.org.services import deactivate_api_client


class BranchScopedAdmin(admin.ModelAdmin):
    """Lists and edits only the rows of the branches the staff user may see; choices of branch are limited too."""

    branch_path = "branch"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).filter(branch_q(request.user, self.branch_path))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "branch" and not sees_all_branches(request.user):
            kwargs["queryset"] = Branch.objects.filter(pk=getattr(request.user, "branch_id", None) or -1)
        if db_field.name == "team" and not sees_all_branches(request.user):
            kwargs["queryset"] = Team.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        record_action(
            actor=request.user,
            action="update" if change else "create",
            obj=obj,
            summary=("修改" if change else "新增") + f" {obj._meta.verbose_name} {obj}",
            changes={"fields": list(form.changed_data)},
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        record_action(actor=request.user, action="delete", obj=obj, summary=f"删除 {obj._meta.verbose_name} {obj}")
        super().delete_model(request, obj)


@admin.register(Branch)
class BranchAdmin(BranchScopedAdmin):
    list_display = ["code", "name", "is_headquarters", "city", "is_active"]
    search_fields = ["code", "name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if sees_all_branches(request.user):
            return queryset
        return queryset.filter(pk=getattr(request.user, "branch_id", None) or -1)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return sees_all_branches(request.user) and super().has_add_permission(request)


@admin.register(Department)
class DepartmentAdmin(BranchScopedAdmin):
    list_display = ["code", "name", "branch", "email", "is_active"]
    list_filter = ["branch"]
    search_fields = ["code", "name"]


@admin.register(Team)
class TeamAdmin(BranchScopedAdmin):
    list_display = ["name", "branch", "lead"]
    list_filter = ["branch"]
    search_fields = ["name"]
    raw_id_fields = ["lead"]


@admin.register(User)
class UserAdmin(BranchScopedAdmin, DjangoUserAdmin):
    list_display = ["username", "name", "agent_no", "branch", "team", "extension", "is_active"]
    list_filter = ["branch", "groups", "is_active"]
    search_fields = ["username", "name", "agent_no"]
    ordering = ["username"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("name", "email", "agent_no", "extension")}),
        (_("Place"), {"fields": ("branch", "team", "department")}),
        (_("Roles and access"), {"fields": ("is_active", "is_staff", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "password1", "password2")}),
        (_("Person"), {"fields": ("name", "agent_no", "extension", "branch", "team", "groups")}),
    )
    readonly_fields = ["last_login", "date_joined"]


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """Look at API clients and deactivate them. They are created (token shown once) and given new tokens on the
    API clients page or with `huifang create-api-client`, never here: this page never sees a clear token."""

    list_display = ["name", "token_prefix", "all_branches", "is_active", "created_at", "last_used_at"]
    list_filter = ["is_active", "all_branches"]
    search_fields = ["name", "token_prefix"]
    readonly_fields = ["name", "branches", "all_branches", "scopes", "token_prefix", "is_active", "created_by",
                       "created_at", "last_used_at"]
    exclude = ["token_hash"]
    actions = ["deactivate"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_manage_api_clients(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_manage_api_clients(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # the change page is read-only; "change" only opens the deactivate action
        return may_manage_api_clients(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Deactivate the selected API clients"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        count = sum(deactivate_api_client(client=client, actor=request.user) for client in queryset)
        self.message_user(request, ngettext("%(count)d API client deactivated.",
                                            "%(count)d API clients deactivated.", count) % {"count": count})
