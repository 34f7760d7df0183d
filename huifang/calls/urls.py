"""Pages of calls: the agent's workbench (坐席工作台), a call and its recording (playback with range requests,
download), the contact-correction list and its export."""

from django.urls import path

from huifang.calls import views, workbench

app_name = "calls"
urlpatterns = [
    # the workbench first: "<str:serial>/" would take "workbench/"
    path("workbench/", workbench.workbench, name="workbench"),
    path("workbench/next/", workbench.workbench_next, name="workbench_next"),
    path("workbench/release/", workbench.workbench_release, name="workbench_release"),
    path("workbench/dial/", workbench.workbench_dial, name="workbench_dial"),
    path("workbench/events/", workbench.workbench_events, name="workbench_events"),
    path("workbench/calls/<str:serial>/", workbench.workbench_call, name="workbench_call"),
    path("workbench/calls/<str:serial>/hangup/", workbench.workbench_hangup, name="workbench_hangup"),
    path("workbench/callbacks/<int:callback_id>/answer/", workbench.workbench_answer, name="workbench_answer"),
    path("workbench/callbacks/<int:callback_id>/finish/", workbench.workbench_finish, name="workbench_finish"),
    path("workbench/callbacks/<int:callback_id>/outcome/", workbench.workbench_outcome, name="workbench_outcome"),
    path("workbench/callbacks/<int:callback_id>/confirm/", workbench.workbench_confirm, name="workbench_confirm"),
    path("workbench/callbacks/<int:callback_id>/attach/", workbench.workbench_attach, name="workbench_attach"),
    path("attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("corrections/", views.corrections, name="corrections"),
    path("corrections/export/", views.corrections_export, name="corrections_export"),
    path("<str:serial>/", views.call_detail, name="detail"),
    path("<str:serial>/recording/", views.play_recording, name="recording"),
    path("<str:serial>/recording/download/", views.download_recording, name="recording_download"),
]
