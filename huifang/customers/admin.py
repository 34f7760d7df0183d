"""Customer administration (管理后台): branch-scoped like the organisation's pages. Phones are shown masked
and not editable here: a clear number is only handed out by the audited reveal."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from huifang.customers.models import Customer
from huifang.org.admin import BranchScopedAdmin
from huifang.org.models import User
from huifang.org.scoping import sees_all_branches


@admin.register(Customer)
class CustomerAdmin(BranchScopedAdmin):
    list_display = ["customer_no", "name", "branch", "manager", "tier", "status", "risk_rating", "open_date"]
    list_filter = ["tier", "status", "risk_rating", "branch"]
    # "^": a prefix match, which the customer-number index can serve
    search_fields = ["^customer_no", "^name"]
    raw_id_fields = ["manager"]
    readonly_fields = ["phones", "created_at", "updated_at"]
    list_select_related = ["branch", "manager"]
    # Counting a million rows for "x of y selected" on every page is not worth it.
    show_full_result_count = False
    fields = [
        "customer_no", "name", "branch", "manager", "tier", "status", "risk_rating", "open_date", "assets",
        "email", "tags", "attributes", "phones", "created_at", "updated_at",
    ]

    @admin.display(description=_("Phones"))
    def phones(self, obj: Customer) -> str:
        return "、".join(phone.masked_number for phone in obj.contact_points.all())

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "manager" and not sees_all_branches(request.user):
            kwargs["queryset"] = User.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
