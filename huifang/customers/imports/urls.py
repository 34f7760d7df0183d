from django.urls import path

from huifang.customers.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.index, name="index"),
    path("upload/", views.upload, name="upload"),
    path("mapping/", views.mapping, name="mapping"),
    path("<int:run_id>/", views.run_detail, name="run"),
    path("<int:run_id>/rejects/", views.rejects, name="rejects"),
]
