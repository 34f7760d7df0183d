"""Callbacks in the administration pages: read-only (every change goes through callbacks.services, which writes
the history)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from huifang.callbacks.models import Callback, RuleRun


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Callback)
class CallbackAdmin(_ReadOnly):
    list_display = ["id", "customer", "callback_type", "state", "due_date", "agent", "branch", "origin"]
    list_filter = ["state", "callback_type", "origin"]
    search_fields = ["customer__customer_no"]
    list_select_related = ["customer", "callback_type", "agent", "branch"]
    raw_id_fields = ["customer", "event"]


@admin.register(RuleRun)
class RuleRunAdmin(_ReadOnly):
    list_display = ["id", "as_of", "dry_run", "trigger", "created_count", "started_at", "finished_at"]
    list_filter = ["dry_run", "trigger"]
