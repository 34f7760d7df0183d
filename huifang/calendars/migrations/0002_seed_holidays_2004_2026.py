"""Seed the holiday table with the State Council schedules of 2004–2026, as published by chinesecalendar,
and mark those years covered. Later years are added by an administrator (管理后台 › 日历) or by
`huifang calendar seed YEAR` once an upgraded chinesecalendar has them."""

from django.db import migrations

YEARS = range(2004, 2027)


def seed_holidays(apps, schema_editor):
    from huifang.calendars.rules import SOURCE, official_days

    SpecialDay = apps.get_model("calendars", "SpecialDay")
    CoveredYear = apps.get_model("calendars", "CoveredYear")
    existing = set(SpecialDay.objects.values_list("date", flat=True))
    days = [
        SpecialDay(date=day.date, kind=day.kind, name=day.name)
        for year in YEARS
        for day in official_days(year)
        if day.date not in existing
    ]
    SpecialDay.objects.bulk_create(days, batch_size=500)
    covered = set(CoveredYear.objects.values_list("year", flat=True))
    CoveredYear.objects.bulk_create(
        [CoveredYear(year=year, source=SOURCE, note="数据迁移导入") for year in YEARS if year not in covered]
    )


def unseed_holidays(apps, schema_editor):
    SpecialDay = apps.get_model("calendars", "SpecialDay")
    CoveredYear = apps.get_model("calendars", "CoveredYear")
    SpecialDay.objects.filter(date__year__gte=YEARS.start, date__year__lt=YEARS.stop).delete()
    CoveredYear.objects.filter(year__in=list(YEARS)).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("calendars", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(seed_holidays, unseed_holidays),
    ]
