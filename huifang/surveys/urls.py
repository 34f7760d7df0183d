from django.urls import path

from huifang.surveys import views

app_name = "surveys"
urlpatterns = [
    path("", views.questionnaires, name="list"),
    path("new/", views.create, name="create"),
    path("import/", views.import_json, name="import"),
    path("<int:questionnaire_id>/", views.designer, name="designer"),
    path("<int:questionnaire_id>/save/", views.save, name="save"),
    path("<int:questionnaire_id>/preview/", views.preview, name="preview"),
    path("<int:questionnaire_id>/export/", views.export, name="export"),
]
