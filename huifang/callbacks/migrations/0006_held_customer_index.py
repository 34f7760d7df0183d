"""The queue: an index of the held callbacks by customer (is the customer being worked by another agent?)."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('callbacks', '0005_callback_response'),
        ('campaigns', '0003_calling_hours'),
        ('customers', '0007_do_not_call'),
        ('org', '0002_api_client'),
        ('surveys', '0003_response_event'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='callback',
            index=models.Index(condition=models.Q(('state', 'in_progress')), fields=['customer'], name='callback_held_customer_idx'),
        ),
    ]
