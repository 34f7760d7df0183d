from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _sync_roles(sender: Any, **kwargs: Any) -> None:
    from huifang.org.services import sync_role_groups

    sync_role_groups()


class OrgConfig(AppConfig):
    name = "huifang.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        # The role groups follow roles.py after every migrate (permissions exist only after post_migrate).
        post_migrate.connect(_sync_roles, dispatch_uid="huifang.org.sync_role_groups")
