from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.api import api

admin.site.site_header = "回访平台管理后台"
admin.site.site_title = "回访平台"
admin.site.index_title = "系统管理"

urlpatterns = [
    path("", include("huifang.reports.urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("org/", include("huifang.org.urls")),
    path("customers/", include("huifang.customers.urls")),
    path("imports/", include("huifang.customers.imports.urls")),
    path("surveys/", include("huifang.surveys.urls")),
    path("callbacks/", include("huifang.callbacks.urls")),
    path("projects/", include("huifang.callbacks.project_urls")),
    path("calls/", include("huifang.calls.urls")),
    path("audit/", include("huifang.audit.urls")),
    path("calendar/", include("huifang.calendars.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("manage/", admin.site.urls),
    path("api/v1/", api.urls),
]
