from django.contrib import admin
from django.http import HttpRequest

from huifang.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log can be looked at, never changed."""

    list_display = ["at", "actor_name", "action", "object_type", "object_id", "object_repr", "ip_address"]
    list_filter = ["action"]
    search_fields = ["actor_name", "object_repr", "summary", "object_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
