from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "huifang.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from huifang.audit import signals  # noqa: F401  (login / logout / failed login are audited)
        from huifang.audit.purge import register_sqlite_switch

        def switch_off(sender: Any, connection: Any, **kwargs: Any) -> None:
            if connection.vendor == "sqlite":
                register_sqlite_switch(connection)

        connection_created.connect(switch_off, weak=False, dispatch_uid="huifang.audit.sqlite_switch")
