"""The queue (callbacks.queue): who an appointment is for, when the current agent took it, the pop's indexes."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('callbacks', '0003_schedule_callback_jobs'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='callback',
            name='appointment_agent',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='appointment for'),
        ),
        migrations.AddField(
            model_name='callback',
            name='held_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='held since'),
        ),
        migrations.AddIndex(
            model_name='callback',
            index=models.Index(condition=models.Q(('state__in', ['new', 'assigned'])), fields=['branch', '-priority', 'due_date', 'id'], name='callback_pop_branch_idx'),
        ),
        migrations.AddIndex(
            model_name='callback',
            index=models.Index(condition=models.Q(('state__in', ['new', 'assigned'])), fields=['-priority', 'due_date', 'id'], name='callback_pop_all_idx'),
        ),
        migrations.AddIndex(
            model_name='callback',
            index=models.Index(condition=models.Q(('appointment_at__isnull', False), ('state__in', ['new', 'assigned'])), fields=['appointment_at'], name='callback_pop_appointment_idx'),
        ),
    ]
