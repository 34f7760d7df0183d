"""Pages of calls: a call and its recording (playback with range requests, download), the contact-correction
list and its export."""

from django.urls import path

from huifang.calls import views

app_name = "calls"
urlpatterns = [
    path("corrections/", views.corrections, name="corrections"),
    path("corrections/export/", views.corrections_export, name="corrections_export"),
    path("<str:serial>/", views.call_detail, name="detail"),
    path("<str:serial>/recording/", views.play_recording, name="recording"),
    path("<str:serial>/recording/download/", views.download_recording, name="recording_download"),
]
