"""Pages of calls: recordings (playback with range requests), the contact-correction list."""

from django.urls import path  # noqa: F401

app_name = "calls"
urlpatterns: list = []
