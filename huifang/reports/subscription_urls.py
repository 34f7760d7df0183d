"""/reports/subscriptions/: reports mailed on a schedule (subscription_views.py)."""

from django.urls import path

from huifang.reports import subscription_views as views

app_name = "subscriptions"

urlpatterns = [
    path("", views.subscription_list, name="list"),
    path("new/", views.create, name="create"),
    path("<int:subscription_id>/", views.edit, name="edit"),
    path("<int:subscription_id>/disable/", views.disable, name="disable"),
    path("<int:subscription_id>/send/", views.send_now, name="send"),
]
