"""Pages of manual callback projects (回访项目): callbacks/project_views.py."""

from django.urls import path  # noqa: F401

app_name = "projects"
urlpatterns: list = []
