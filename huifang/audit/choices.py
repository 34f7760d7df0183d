from django.utils.translation import gettext_lazy as _

# Labels for the action codes services write; an unknown code shows as itself.
ACTION_LABELS = {
    "login": _("Logged in"),
    "logout": _("Logged out"),
    "login_failed": _("Failed login"),
    "create": _("Created"),
    "update": _("Changed"),
    "delete": _("Deleted"),
    "reveal": _("Revealed a masked value"),
    "export": _("Exported"),
    "mail_report": _("Mailed a report"),
    "file_report": _("Filed a report"),
    "approve_report": _("Approved a report"),
    "import": _("Imported"),
    "rotate_token": _("Replaced the token"),
    "deactivate": _("Deactivated"),
    "run_rules": _("Ran the callback rules"),
    "assign": _("Assigned callbacks"),
    "reassign": _("Re-assigned callbacks"),
    "cancel": _("Cancelled callbacks"),
}
