"""Pages of callbacks: the list, deadline views, risk referral, rule runs (callbacks/views.py)."""

from django.urls import path

from huifang.callbacks import views

app_name = "callbacks"
urlpatterns = [
    path("", views.callback_list, name="list"),
    path("<int:callback_id>/", views.callback_detail, name="detail"),
    path("deadlines/", views.deadlines, name="deadlines"),
    path("rules/", views.rules, name="rules"),
    path("rules/run/", views.run, name="run_rules"),
    path("rules/explain/", views.explain, name="explain_rule"),
    path("referral/", views.referral, name="referral"),
]
