import datetime as dt

from django.urls import path, register_converter

from huifang.calendars import views


class IsoDateConverter:
    """A date written YYYY-MM-DD in a URL."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> dt.date:
        return dt.date.fromisoformat(value)

    def to_url(self, value: dt.date) -> str:
        return value.isoformat()


register_converter(IsoDateConverter, "calendar_date")

app_name = "calendars"
urlpatterns = [
    path("", views.index, name="index"),
    path("days/", views.set_day, name="set_day"),
    path("days/<calendar_date:date>/clear/", views.clear_day, name="clear_day"),
    path("years/<int:year>/cover/", views.cover_year, name="cover_year"),
    path("years/<int:year>/import/", views.import_year, name="import_year"),
]
