from django.urls import path

from huifang.org import views

app_name = "org"
urlpatterns = [
    path("users/", views.user_list, name="users"),
    path("users/<int:user_id>/", views.user_detail, name="user"),
    path("branches/", views.branch_list, name="branches"),
    path("branches/<int:branch_id>/", views.branch_detail, name="branch"),
]
