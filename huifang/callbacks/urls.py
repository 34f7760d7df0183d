"""Pages of callbacks: the list, deadline views, risk referral, rule runs (filled in by callbacks/views.py)."""

from django.urls import path  # noqa: F401

app_name = "callbacks"
urlpatterns: list = []
