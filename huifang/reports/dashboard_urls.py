"""/dashboards/: the boards (HQ, a branch, the agent's own day) and the quarterly roll-up's filing forms."""

from django.urls import path

from huifang.reports import dashboard_views as views

app_name = "dashboards"

urlpatterns = [
    path("", views.index, name="index"),
    path("hq/", views.hq, name="hq"),
    path("branch/<int:branch_id>/", views.branch, name="branch"),
    path("me/", views.me, name="me"),
    path("filings/<str:period_key>/", views.filing_panel, name="filings"),
    path("filings/<str:period_key>/<int:branch_id>/file/", views.file_quarterly, name="file_quarterly"),
    path("filings/approve/<int:filing_id>/", views.approve_quarterly, name="approve_quarterly"),
]
