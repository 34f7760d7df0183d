from django.urls import path

from huifang.reports import views

urlpatterns = [path("", views.home, name="home")]
