from django.urls import path

from huifang.surveys import respond, views

app_name = "surveys"
urlpatterns = [
    path("", views.questionnaires, name="list"),
    path("new/", views.create, name="create"),
    path("import/", views.import_json, name="import"),
    path("<int:questionnaire_id>/", views.designer, name="designer"),
    path("<int:questionnaire_id>/save/", views.save, name="save"),
    path("<int:questionnaire_id>/preview/", views.preview, name="preview"),
    path("<int:questionnaire_id>/export/", views.export, name="export"),
    path("<int:questionnaire_id>/copy/", views.copy, name="copy"),
    path("<int:questionnaire_id>/statistics/", views.statistics, name="statistics"),
    path("<int:questionnaire_id>/properties/", views.properties, name="properties"),
    # filling in (答卷): surveys/respond.py
    path("responses/new/", respond.start, name="start"),
    path("responses/<int:response_id>/", respond.respond, name="respond"),
    path("responses/<int:response_id>/answer/", respond.answer, name="answer"),
    path("responses/<int:response_id>/finish/", respond.finish, name="finish"),
]
