from django.urls import include, path

from huifang.reports import views

urlpatterns = [
    path("", views.home, name="home"),
    # dashboards: HQ, branch, the agent's own day (dashboard_views.py)
    path("dashboards/", include("huifang.reports.dashboard_urls")),
    # mailed reports (subscription_views.py)
    path("reports/subscriptions/", include("huifang.reports.subscription_urls")),
    # the report pages and their Excel / PDF exports (report_views.py)
    path("reports/", include("huifang.reports.report_urls")),
]
