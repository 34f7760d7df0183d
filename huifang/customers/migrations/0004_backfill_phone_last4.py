"""Fill ContactPoint.last4 for the phones stored before it existed (ContactPoint.save fills it from now on)."""

from django.db import migrations

from huifang.customers.rules import phone_last4


def backfill_last4(apps, schema_editor):
    ContactPoint = apps.get_model("customers", "ContactPoint")
    # Mobiles (no dash) in one statement: their last four characters are the digits.
    suffix = "substr(number, -4)" if schema_editor.connection.vendor == "sqlite" else "right(number, 4)"
    # params=None: the % of LIKE is not a placeholder.
    schema_editor.execute(f"UPDATE customers_contactpoint SET last4 = {suffix} WHERE number NOT LIKE '%-%'",
                          params=None)
    # Landlines, with their area code and extension, one by one (few).
    batch = []
    for phone in ContactPoint.objects.filter(number__contains="-").only("id", "number").iterator(chunk_size=2000):
        phone.last4 = phone_last4(phone.number)
        batch.append(phone)
        if len(batch) >= 2000:
            ContactPoint.objects.bulk_update(batch, ["last4"])
            batch = []
    ContactPoint.objects.bulk_update(batch, ["last4"])


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_contactpoint_last4")]
    operations = [migrations.RunPython(backfill_last4, migrations.RunPython.noop)]
