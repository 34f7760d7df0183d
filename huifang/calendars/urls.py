from django.urls import path

from huifang.calendars import views

app_name = "calendars"
urlpatterns = [path("", views.index, name="index")]
