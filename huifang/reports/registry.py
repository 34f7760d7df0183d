"""The catalogue of reports: each report is a builder `(user, period, branch_id) -> Report` registered under a code
with the period kinds it accepts. Pages, Excel and PDF exports, the API and the mailing job all go through
`build_report`, so branch isolation is applied in one place: the builder reads only what `user` sees, and a
`branch_id` the user may not see is refused (404, like every other forbidden row)."""

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from huifang.reports.periods import KIND_LABELS, KINDS, Period, PeriodError, parse_period, period_containing
from huifang.reports.tables import Report

Builder = Callable[[Any, Period, int | None], Report]

#: the modules that register reports (imported on first use)
BUILDER_MODULES = ("huifang.reports.summaries", "huifang.reports.quarterly", "huifang.reports.satisfaction",
                   "huifang.reports.kpis", "huifang.reports.new_customers", "huifang.reports.managers",
                   "huifang.reports.contact_changes")


@dataclass(frozen=True)
class ReportSpec:
    code: str
    #: in Chinese, as listed on the reports page
    title: str
    #: the period kinds it is made for, the first being the default
    kinds: tuple[str, ...]
    description: str
    build: Builder
    #: shown in lists in this order
    order: int = 100


_REPORTS: dict[str, ReportSpec] = {}
_loaded = False


def register(code: str, *, title: str, description: str, kinds: tuple[str, ...] = KINDS,
             order: int = 100) -> Callable[[Builder], Builder]:
    def decorate(build: Builder) -> Builder:
        _REPORTS[code] = ReportSpec(code, title, kinds, description, build, order)
        return build
    return decorate


def _load() -> None:
    global _loaded
    if not _loaded:
        for name in BUILDER_MODULES:
            try:
                import_module(name)
            except ModuleNotFoundError as error:
                if error.name != name:
                    raise
        _loaded = True


def all_reports() -> list[ReportSpec]:
    _load()
    return sorted(_REPORTS.values(), key=lambda spec: (spec.order, spec.code))


def report_spec(code: str) -> ReportSpec | None:
    _load()
    return _REPORTS.get(code)


class PeriodChoiceError(PeriodError):
    """A period the caller asked for that cannot be read or that the report is not made for; `field` names the
    parameter at fault ("period" or "kind") so the page and the API can say which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def choose_period(spec: ReportSpec, *, key: str = "", kind: str = "", today: Any = None) -> Period:
    """The period named by `key` (2026-11, 2026-Q4, …), or else the one of `kind` (default: the report's first
    kind) containing `today` (default: the local date): what the page, the API and the mail ask a report for."""
    key, kind = (key or "").strip(), (kind or "").strip()
    if key:
        try:
            period = parse_period(key)
        except PeriodError as error:
            raise PeriodChoiceError("period", str(error)) from None
        if period.kind not in spec.kinds:
            raise PeriodChoiceError("period", f"《{spec.title}》不按{KIND_LABELS[period.kind]}出具，"
                                              f"可选：{'、'.join(KIND_LABELS[k] for k in spec.kinds)}")
        return period
    kind = kind or spec.kinds[0]
    if kind not in spec.kinds:
        choices = "、".join(KIND_LABELS[k] for k in spec.kinds)
        raise PeriodChoiceError("kind", f"《{spec.title}》没有“{kind}”，可选：{choices}")
    if today is None:
        from django.utils import timezone

        today = timezone.localdate()
    return period_containing(kind, today)


#: who reads the reports: supervisors, their branches' operators and team leads, QA and the auditors (role codes
#: of org.choices.Role); API clients read them with the reports:read scope
REPORT_ROLES = ("hq_supervisor", "admin", "auditor", "branch_operator", "team_lead", "qa_inspector")


def may_see_reports(user: Any) -> bool:
    from huifang.org.scoping import is_api_client

    if is_api_client(user):
        return bool(user.has_scope("reports:read"))
    return bool(user.is_superuser or user.has_role(*REPORT_ROLES))


def build_report(code: str, *, user: Any, period: Period, branch_id: int | None = None) -> Report:
    """The report `code` for `period` as `user` may see it, limited to `branch_id` if given. Raises LookupError
    for an unknown code, PeriodError for a period kind the report is not made for, and org's NotFound for a
    branch the user does not see."""
    from huifang.org.queries import NotFound, visible_branches

    spec = report_spec(code)
    if spec is None:
        raise LookupError(f"没有报表“{code}”")
    if period.kind not in spec.kinds:
        raise PeriodError(f"《{spec.title}》不按“{period.kind}”出具，可选周期：{'、'.join(spec.kinds)}")
    if branch_id is not None and not visible_branches(user).filter(pk=branch_id).exists():
        raise NotFound("没有该营业部")
    return spec.build(user, period, branch_id)
