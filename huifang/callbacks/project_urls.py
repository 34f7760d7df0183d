"""Pages of manual callback projects (回访项目): callbacks/project_views.py."""

from django.urls import path

from huifang.callbacks import project_views as views

app_name = "projects"
urlpatterns = [
    path("", views.project_list, name="list"),
    path("new/", views.create, name="create"),
    path("<int:project_id>/", views.detail, name="detail"),
    path("<int:project_id>/assign/", views.assign, name="assign"),
    path("<int:project_id>/reassign/", views.reassign, name="reassign"),
    path("<int:project_id>/cancel/", views.cancel, name="cancel"),
]
