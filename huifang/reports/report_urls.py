"""/reports/: the catalogue, each report's page, its Excel and its PDF (report_views.py)."""

from django.urls import path

from huifang.reports import report_views as views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:code>/", views.page, name="page"),
    path("<slug:code>/excel/", views.excel, name="excel"),
    path("<slug:code>/pdf/", views.pdf, name="pdf"),
]
