from django.urls import path

from huifang.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<str:customer_no>/", views.customer_detail, name="detail"),
    path("<str:customer_no>/id-number/reveal/", views.reveal_id, name="reveal_id"),
    path("<str:customer_no>/phones/<int:phone_id>/reveal/", views.reveal_phone, name="reveal_phone"),
]
