from django.urls import path

from huifang.org import views

app_name = "org"
urlpatterns = [
    path("users/", views.user_list, name="users"),
    path("users/<int:user_id>/", views.user_detail, name="user"),
    path("branches/", views.branch_list, name="branches"),
    path("branches/<int:branch_id>/", views.branch_detail, name="branch"),
    path("api-clients/", views.api_client_list, name="api_clients"),
    path("api-clients/new/", views.api_client_create, name="api_client_create"),
    path("api-clients/<int:client_id>/rotate/", views.api_client_rotate, name="api_client_rotate"),
    path("api-clients/<int:client_id>/deactivate/", views.api_client_deactivate, name="api_client_deactivate"),
]
