from django.db import models
from django.utils.translation import gettext_lazy as _

from huifang.scheduling import rules


class DayKind(models.TextChoices):
    EVERY_DAY = rules.EVERY_DAY, _("Every day")
    WORKING_DAY = rules.WORKING_DAY, _("Working days")
    TRADING_DAY = rules.TRADING_DAY, _("Trading days")
