"""Administration of the schedules (管理后台 › 定时任务): switch a job on or off, move its time or its days.

Schedules are shipped by data migrations, so the page neither adds nor deletes them; the run columns are
written by the scheduler only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from huifang.audit.services import record_action
from huifang.scheduling.models import ScheduledJob


@admin.register(ScheduledJob)
class ScheduledJobAdmin(admin.ModelAdmin):
    list_display = [
        "name", "description", "time_of_day", "day_kind", "is_enabled", "last_run_on", "has_error",
    ]  # fmt: skip
    list_editable = ["time_of_day", "day_kind", "is_enabled"]
    list_filter = ["is_enabled", "day_kind"]
    search_fields = ["name", "description", "task_path"]
    fields = [
        "name", "description", "task_path", "kwargs", "time_of_day", "day_kind", "is_enabled",
        "last_run_on", "last_enqueued_at", "last_result_id", "last_error",
    ]  # fmt: skip
    readonly_fields = ["name", "task_path", "last_run_on", "last_enqueued_at", "last_result_id", "last_error"]

    @admin.display(description=_("error"), boolean=True)
    def has_error(self, obj: ScheduledJob) -> bool:
        return bool(obj.last_error)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        record_action(
            actor=request.user,
            action="update",
            obj=obj,
            summary=f"修改定时任务 {obj}",
            changes={field: str(form.cleaned_data.get(field)) for field in form.changed_data},
        )
