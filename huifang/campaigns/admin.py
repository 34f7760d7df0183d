"""Administration of the catalogue (管理后台 › 回访类型、触发规则): HQ's types and their rules as data.

Policies and configs are JSON validated by the models' clean() (pydantic models per kind), so a broken rule is
refused with the field named before it is saved. Types are shipped by a data migration and never deleted here:
callbacks point at them."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from huifang.audit.services import record_action
from huifang.campaigns.models import CallbackType, Project, Rule


class _Audited(admin.ModelAdmin):
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        record_action(actor=request.user, action="update" if change else "create", obj=obj,
                      summary=f"{'修改' if change else '新建'}{obj._meta.verbose_name} {obj}",
                      changes={field: str(form.cleaned_data.get(field)) for field in form.changed_data})


class RuleInline(admin.StackedInline):
    model = Rule
    extra = 0
    fields = ["name", "kind", "config", "description", "is_active"]


@admin.register(CallbackType)
class CallbackTypeAdmin(_Audited):
    list_display = ["code", "name", "automation", "category", "priority", "dedupe_period", "quota", "recusal",
                    "is_active"]
    list_filter = ["automation", "category", "is_active"]
    search_fields = ["code", "name"]
    inlines = [RuleInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Rule)
class RuleAdmin(_Audited):
    list_display = ["name", "callback_type", "kind", "is_active", "updated_at"]
    list_filter = ["kind", "is_active", "callback_type"]
    search_fields = ["name"]


@admin.register(Project)
class ProjectAdmin(_Audited):
    list_display = ["name", "callback_type", "branch", "period_start", "period_end", "state", "owner"]
    list_filter = ["state", "callback_type"]
    search_fields = ["name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Projects are made on the projects page, which checks the branch and the questionnaire.
        return False
