"""Administration of the holiday table (管理后台 › 日历). Every save and delete goes through the services,
so it is audited and the cached calendar is dropped at once."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from huifang.calendars import services
from huifang.calendars.models import CoveredYear, SpecialDay


@admin.register(SpecialDay)
class SpecialDayAdmin(admin.ModelAdmin):
    list_display = ["date", "weekday", "kind", "name"]
    list_filter = ["kind"]
    search_fields = ["name"]
    date_hierarchy = "date"
    ordering = ["-date"]

    @admin.display(description=_("weekday"))
    def weekday(self, obj: SpecialDay) -> str:
        return date_format(obj.date, "l")

    def save_model(self, request: HttpRequest, obj: SpecialDay, form: Any, change: bool) -> None:
        services.save_special_day(day=obj, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: SpecialDay) -> None:
        services.delete_special_day(day=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[SpecialDay]) -> None:
        # One service call per row, so the bulk action is audited row by row like a single delete.
        for day in queryset:
            services.delete_special_day(day=day, actor=request.user)


@admin.register(CoveredYear)
class CoveredYearAdmin(admin.ModelAdmin):
    list_display = ["year", "source", "note"]
    ordering = ["-year"]

    def save_model(self, request: HttpRequest, obj: CoveredYear, form: Any, change: bool) -> None:
        services.save_covered_year(covered=obj, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: CoveredYear) -> None:
        services.uncover_year(covered=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CoveredYear]) -> None:
        for covered in queryset:
            services.uncover_year(covered=covered, actor=request.user)
