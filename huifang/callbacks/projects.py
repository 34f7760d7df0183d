"""Writes of manual projects (回访项目, DOMAIN.md "Manual projects"): create a project, assign its customers from
pasted text, re-assign and cancel its callbacks, singly or in bulk.

A project's callbacks are ordinary callbacks (origin "project", period key "P<project id>", due at the end of the
project's period), so agents work them like any other. Every write runs in one transaction with its history rows:
of an assignment the valid lines are created and the invalid ones reported, nothing half-written."""

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from huifang.audit.services import record_action
from huifang.callbacks.choices import OPEN_STATES, Origin, State
from huifang.callbacks.models import Callback, CallbackHistory
from huifang.callbacks.rules import MAX_ASSIGNMENT_LINES, RejectedLine, parse_assignment_lines, spread_with_exclusions
from huifang.callbacks.services import TRANSITIONS, CallbackError, questionnaire_version_for
from huifang.campaigns.choices import ProjectState
from huifang.campaigns.models import CallbackType, Project
from huifang.customers.models import Customer
from huifang.org.models import Branch, User
from huifang.surveys.choices import VersionState
from huifang.surveys.models import Questionnaire, QuestionnaireVersion

#: how many callbacks one bulk re-assign or cancel may name
MAX_BULK = 5_000

NOT_OF_BRANCH = "不存在或不属于本营业部"
ALREADY_IN_PROJECT = "已在本项目中"


@dataclass
class AssignmentResult:
    #: [{"line", "customer_no", "agent_no"}], in the order of the text
    assigned: list[dict[str, Any]] = field(default_factory=list)
    #: [{"line", "text", "reason", "message"}], by line number
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def per_agent(self) -> dict[str, int]:
        """How many of the new callbacks each agent got."""
        return dict(Counter(item["agent_no"] for item in self.assigned))


@dataclass
class BulkResult:
    #: how many callbacks were changed
    changed: int = 0
    #: [{"id", "reason"}]: the callbacks named that were not changed
    refused: list[dict[str, Any]] = field(default_factory=list)


def _actor(by: Any) -> User | None:
    return by if isinstance(by, User) and by.pk else None


def published_version_id(questionnaire: Questionnaire | None) -> int | None:
    if questionnaire is None:
        return None
    return (QuestionnaireVersion.objects.filter(questionnaire=questionnaire, state=VersionState.PUBLISHED)
            .values_list("id", flat=True).first())


def questionnaire_applies(questionnaire: Questionnaire, branch: Branch) -> bool:
    """Whether a branch's project may ask `questionnaire`: the branch's own, or a company one (no owner branch)
    that is a template or applies to every branch (适用单位 empty) or to this one."""
    if questionnaire.owner_branch_id is not None:
        return questionnaire.owner_branch_id == branch.pk
    if questionnaire.is_template:
        return True
    applicable = set(questionnaire.branches.values_list("id", flat=True))
    return not applicable or branch.pk in applicable


def project_questionnaires(branch: Branch) -> QuerySet[Questionnaire]:
    """The questionnaires with a published version a project of `branch` may ask, by code."""
    candidates = (Questionnaire.objects.filter(versions__state=VersionState.PUBLISHED)
                  .filter(owner_branch__isnull=True) | Questionnaire.objects.filter(
                      versions__state=VersionState.PUBLISHED, owner_branch=branch))
    ids = [q.pk for q in candidates.distinct().prefetch_related("branches") if _applies_prefetched(q, branch)]
    return Questionnaire.objects.filter(pk__in=ids).order_by("code")


def _applies_prefetched(questionnaire: Questionnaire, branch: Branch) -> bool:
    if questionnaire.owner_branch_id is not None:
        return questionnaire.owner_branch_id == branch.pk
    applicable = {b.pk for b in questionnaire.branches.all()}
    return questionnaire.is_template or not applicable or branch.pk in applicable


@transaction.atomic
def create_project(*, name: str, callback_type: CallbackType, period_start: dt.date, period_end: dt.date,
                   branch: Branch, owner: Any = None, questionnaire: Questionnaire | None = None,
                   description: str = "", by: Any = None, today: dt.date | None = None) -> Project:
    """A new open project of `branch`. Any active callback type will do (the manual ones are what the forms
    offer first): its callbacks are keyed by the project, so they never collide with the rules'.

    Raises CallbackError for an empty name, a period that ends before it starts or before today, an inactive
    type, headquarters or an inactive branch, an inactive owner, and a questionnaire without a published
    version or not applicable to the branch. Side effects: the project, an audit entry."""
    today = today or timezone.localdate()
    name = (name or "").strip()
    if not name:
        raise CallbackError("项目名称不能为空")
    if len(name) > 100:
        raise CallbackError("项目名称最多 100 个字")
    if period_end < period_start:
        raise CallbackError("回访期间的结束日期不能早于开始日期")
    if period_end < today:
        raise CallbackError("回访期间的结束日期不能早于今天")
    if not callback_type.is_active:
        raise CallbackError(f"回访类型“{callback_type.name}”已停用")
    if branch.is_headquarters or not branch.is_active:
        raise CallbackError("项目须属于一个在用的营业部")
    if owner is not None and not getattr(owner, "is_active", False):
        raise CallbackError("项目负责人已停用")
    if questionnaire is not None:
        if published_version_id(questionnaire) is None:
            raise CallbackError(f"问卷“{questionnaire.name}”没有已发布的版本")
        if not questionnaire_applies(questionnaire, branch):
            raise CallbackError(f"问卷“{questionnaire.name}”不适用于{branch.name}")
    project = Project.objects.create(name=name, callback_type=callback_type, period_start=period_start,
                                     period_end=period_end, branch=branch, owner=_actor(owner),
                                     questionnaire=questionnaire, description=(description or "").strip())
    record_action(actor=by if by is not None else owner, action="create", obj=project,
                  summary=f"创建回访项目“{project.name}”（{callback_type.name}，{period_start}—{period_end}）")
    return project


def open_loads(agent_ids: Iterable[int]) -> dict[int, int]:
    """The open callbacks (new, assigned, in progress) of each agent, one GROUP BY; 0 for an agent with none."""
    ids = list(agent_ids)
    counted = dict(Callback.objects.filter(agent_id__in=ids, state__in=OPEN_STATES).order_by()
                   .values_list("agent_id").annotate(n=Count("id")).values_list("agent_id", "n"))
    return {agent_id: int(counted.get(agent_id, 0)) for agent_id in ids}


def _chosen_agents(project: Project, agent_ids: Iterable[Any]) -> list[User]:
    wanted: list[int] = []
    for raw in agent_ids:
        try:
            agent_id = int(raw)
        except (TypeError, ValueError):
            raise CallbackError(f"所选坐席“{raw}”不存在") from None
        if agent_id not in wanted:
            wanted.append(agent_id)
    found = {user.pk: user for user in User.objects.filter(pk__in=wanted)}
    agents: list[User] = []
    for agent_id in wanted:
        agent = found.get(agent_id)
        if agent is None or agent.branch_id != project.branch_id or not agent.agent_no:
            raise CallbackError(f"所选坐席（{agent.agent_no if agent and agent.agent_no else agent_id}）"
                                "不存在或不属于本营业部")
        if not agent.is_active:
            raise CallbackError(f"所选坐席 {agent} 已停用")
        agents.append(agent)
    return agents


def _recused(callback_type: CallbackType, agent_id: int, customer: Customer) -> bool:
    return bool(callback_type.recusal and customer.manager_id is not None and customer.manager_id == agent_id)


def _not_before(project: Project, today: dt.date) -> dt.datetime | None:
    if project.period_start <= today:
        return None
    return timezone.make_aware(dt.datetime.combine(project.period_start, dt.time.min))


@transaction.atomic
def assign_project_lines(*, project: Project, text: str, agent_ids: Iterable[Any], by: Any = None,
                         today: dt.date | None = None) -> AssignmentResult:
    """Create the project's callbacks from assignment text (rules.parse_assignment_lines): a line with an agent
    number goes to that agent, the others are spread over `agent_ids` (users of the project's branch) so that
    their open loads end up as even as possible (rules.spread_with_exclusions, after the explicit lines).

    A line is rejected, with its number and reason, for a bad shape or a duplicate, a customer that does not
    exist or is not of the project's branch, or is already in the project, an unknown agent or one of another
    branch, an inactive agent, and under recusal (the type's `recusal`) an agent who is the customer's client
    manager (who is also skipped when spreading). Raises CallbackError for a closed project, too many lines or
    a bad chosen agent. Side effects, in one transaction: the callbacks (assigned), two history rows each
    (created, assigned), an audit entry."""
    today = today or timezone.localdate()
    # of=self: PostgreSQL refuses FOR UPDATE on the nullable side of the questionnaire's outer join.
    project = (Project.objects.select_for_update(of=("self",)).select_related("callback_type", "questionnaire")
               .get(pk=project.pk))
    if project.state != ProjectState.OPEN:
        raise CallbackError("项目已关闭，不能再分配")
    parsed = parse_assignment_lines(text)
    if parsed.read > MAX_ASSIGNMENT_LINES:
        raise CallbackError(f"一次最多分配 {MAX_ASSIGNMENT_LINES} 行，这里有 {parsed.read} 行")
    chosen = _chosen_agents(project, agent_ids)
    callback_type = project.callback_type
    rejected: list[RejectedLine] = list(parsed.rejected)

    customers = {c.customer_no: c for c in Customer.objects.filter(customer_no__in=parsed.customer_numbers,
                                                                   branch_id=project.branch_id)}
    agents = {u.agent_no: u for u in User.objects.filter(agent_no__in=parsed.agent_numbers)}
    in_project = set(Callback.objects.filter(customer_id__in=[c.pk for c in customers.values()],
                                             callback_type=callback_type, period_key=project.period_key)
                     .values_list("customer_id", flat=True))

    explicit: list[tuple[int, Customer, User]] = []  # (line, customer, agent)
    to_spread: list[tuple[int, Customer]] = []
    for line in parsed.lines:
        customer = customers.get(line.customer_no)
        if customer is None:
            rejected.append(RejectedLine(line.line, line.text, f"客户 {line.customer_no} {NOT_OF_BRANCH}"))
            continue
        if customer.pk in in_project:
            rejected.append(RejectedLine(line.line, line.text, f"客户 {line.customer_no} {ALREADY_IN_PROJECT}"))
            continue
        if line.agent_no is None:
            if not chosen:
                rejected.append(RejectedLine(line.line, line.text, "没有指定坐席，也没有选择分配的坐席"))
            else:
                to_spread.append((line.line, customer))
            continue
        agent = agents.get(line.agent_no)
        if agent is None or agent.branch_id != project.branch_id:
            rejected.append(RejectedLine(line.line, line.text, f"坐席 {line.agent_no} 不存在或不属于本营业部"))
        elif not agent.is_active:
            rejected.append(RejectedLine(line.line, line.text, f"坐席 {line.agent_no} 已停用"))
        elif _recused(callback_type, agent.pk, customer):
            rejected.append(RejectedLine(line.line, line.text,
                                         f"坐席 {line.agent_no} 是客户 {line.customer_no} 的客户经理，须回避"))
        else:
            explicit.append((line.line, customer, agent))

    # the even spread: open loads now, plus what the explicit lines just gave the chosen agents
    loads = open_loads(agent.pk for agent in chosen)
    for _, _, agent in explicit:
        if agent.pk in loads:
            loads[agent.pk] += 1
    exclusions: list[set[int]] = [
        {customer.manager_id} if callback_type.recusal and customer.manager_id in loads else set()
        for _, customer in to_spread]
    by_id = {agent.pk: agent for agent in chosen}
    planned: list[tuple[int, Customer, User]] = list(explicit)
    spread = spread_with_exclusions(loads, exclusions)
    for (number, customer), agent_id in zip(to_spread, spread, strict=True):
        if agent_id is None:
            text_of = next(line.text for line in parsed.lines if line.line == number)
            rejected.append(RejectedLine(number, text_of,
                                         f"所选坐席都是客户 {customer.customer_no} 的客户经理，须回避"))
        else:
            planned.append((number, customer, by_id[agent_id]))
    planned.sort(key=lambda item: item[0])

    _create_callbacks(project, planned, by=by, today=today)
    result = AssignmentResult(
        assigned=[{"line": number, "customer_no": customer.customer_no, "agent_no": agent.agent_no,
                   "agent": str(agent)} for number, customer, agent in planned],
        rejected=[r.as_dict() for r in sorted(rejected, key=lambda r: r.line)],
    )
    record_action(actor=by, action="assign", obj=project,
                  summary=f"回访项目“{project.name}”分配 {len(result.assigned)} 位客户，"
                          f"拒绝 {len(result.rejected)} 行")
    return result


def _create_callbacks(project: Project, planned: list[tuple[int, Customer, User]], *, by: Any,
                      today: dt.date) -> None:
    if not planned:
        return
    now = timezone.now()
    callback_type = project.callback_type
    version_id = published_version_id(project.questionnaire) if project.questionnaire_id else None
    version_id = version_id or questionnaire_version_for(callback_type)
    not_before = _not_before(project, today)
    actor = _actor(by)
    reason = f"回访项目：{project.name}"[:300]
    created = Callback.objects.bulk_create([
        Callback(customer=customer, callback_type=callback_type, period_key=project.period_key,
                 origin=Origin.PROJECT, project=project, branch_id=customer.branch_id,
                 questionnaire_version_id=version_id, state=State.ASSIGNED, priority=callback_type.priority,
                 due_date=project.period_end, not_before=not_before, expires_on=project.period_end, agent=agent,
                 attempts=0, result="", reason=reason, created_by=actor, created_at=now, updated_at=now)
        for _, customer, agent in planned
    ])
    history: list[CallbackHistory] = []
    for callback in created:
        history.append(CallbackHistory(callback=callback, at=now, by=actor, from_state="", to_state=State.NEW,
                                       reason=reason, agent=None))
        history.append(CallbackHistory(callback=callback, at=now, by=actor, from_state=State.NEW,
                                       to_state=State.ASSIGNED, reason=f"分配给 {callback.agent}"[:300],
                                       agent=callback.agent))
    CallbackHistory.objects.bulk_create(history)


def _ids(ids: Iterable[Any]) -> list[int]:
    wanted: list[int] = []
    for raw in ids:
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise CallbackError(f"回访任务编号“{raw}”不正确") from None
        if value not in wanted:
            wanted.append(value)
    if not wanted:
        raise CallbackError("请至少选择一条回访任务")
    if len(wanted) > MAX_BULK:
        raise CallbackError(f"一次最多处理 {MAX_BULK} 条回访任务")
    return wanted


def _locked(ids: list[int], within: QuerySet[Callback] | None) -> dict[int, Callback]:
    base = within if within is not None else Callback.objects.all()
    rows = (base.filter(pk__in=ids).select_for_update(of=("self",))
            .select_related("customer", "callback_type", "branch").order_by("pk"))
    return {callback.pk: callback for callback in rows}


@transaction.atomic
def reassign_callbacks(*, ids: Iterable[Any], agent: User, by: Any = None, reason: str = "",
                       within: QuerySet[Callback] | None = None) -> BulkResult:
    """Give open callbacks (one or many) to `agent`, who must be active, have an agent number and be of each
    callback's branch; under recusal not the customer's client manager. `within` limits which callbacks may be
    named (the caller's visible ones, a project's): others are refused as not found.

    Returns how many changed and the refused ids with reasons (closed, not found, already the agent's, ...).
    Raises CallbackError for an empty or too long list, or an agent who cannot take callbacks at all. Side
    effects: the callbacks (state assigned, the agent), one history row each."""
    wanted = _ids(ids)
    if not agent.is_active:
        raise CallbackError(f"坐席 {agent} 已停用")
    if not agent.agent_no:
        raise CallbackError(f"{agent} 没有坐席工号，不能接受回访任务")
    found = _locked(wanted, within)
    result = BulkResult()
    accepted: list[Callback] = []
    for callback_id in wanted:
        callback = found.get(callback_id)
        if callback is None:
            result.refused.append({"id": callback_id, "reason": "回访任务不存在"})
        elif State.ASSIGNED not in TRANSITIONS.get(callback.state, set()):
            result.refused.append({"id": callback_id,
                                   "reason": f"回访任务处于“{State(callback.state).label}”状态，不能改派"})
        elif callback.branch_id != agent.branch_id:
            result.refused.append({"id": callback_id, "reason": f"坐席 {agent.agent_no} 不属于该任务的营业部"})
        elif callback.agent_id == agent.pk:
            result.refused.append({"id": callback_id, "reason": f"已由坐席 {agent.agent_no} 负责"})
        elif _recused(callback.callback_type, agent.pk, callback.customer):
            result.refused.append({"id": callback_id, "reason": f"坐席 {agent.agent_no} 是该客户的客户经理，须回避"})
        else:
            accepted.append(callback)
    if accepted:
        now = timezone.now()
        actor = _actor(by)
        why = (reason.strip() or f"改派给 {agent}")[:300]
        CallbackHistory.objects.bulk_create([
            CallbackHistory(callback=callback, at=now, by=actor, from_state=callback.state, to_state=State.ASSIGNED,
                            reason=why, agent=agent) for callback in accepted])
        result.changed = Callback.objects.filter(pk__in=[c.pk for c in accepted]).update(
            state=State.ASSIGNED, agent=agent, updated_at=now)
        _record_bulk(by, "reassign", accepted, f"{result.changed} 条回访任务改派给 {agent}：{why}")
    return result


def _record_bulk(by: Any, action: str, changed: list[Callback], summary: str) -> None:
    """One audit entry for a bulk change: the first ids, the branch when they share one."""
    record_action(actor=by, action=action, object_type="callbacks.callback",
                  object_id=",".join(str(c.pk) for c in changed[:10])[:64],
                  branch_code=changed[0].branch.code if len({c.branch_id for c in changed}) == 1 else "",
                  summary=summary[:500])


@transaction.atomic
def cancel_callbacks(*, ids: Iterable[Any], by: Any = None, reason: str,
                     within: QuerySet[Callback] | None = None) -> BulkResult:
    """Cancel open callbacks (one or many), with a reason (required). `within` limits which may be named.

    Returns how many were cancelled and the refused ids with reasons (closed, not found). Raises CallbackError
    without a reason or for an empty or too long list. Side effects: the callbacks (cancelled, closed now), one
    history row each, an audit entry."""
    why = (reason or "").strip()
    if not why:
        raise CallbackError("取消回访任务须填写原因")
    wanted = _ids(ids)
    found = _locked(wanted, within)
    result = BulkResult()
    accepted: list[Callback] = []
    for callback_id in wanted:
        callback = found.get(callback_id)
        if callback is None:
            result.refused.append({"id": callback_id, "reason": "回访任务不存在"})
        elif State.CANCELLED not in TRANSITIONS.get(callback.state, set()):
            result.refused.append({"id": callback_id,
                                   "reason": f"回访任务处于“{State(callback.state).label}”状态，不能取消"})
        else:
            accepted.append(callback)
    if accepted:
        now = timezone.now()
        actor = _actor(by)
        CallbackHistory.objects.bulk_create([
            CallbackHistory(callback=callback, at=now, by=actor, from_state=callback.state,
                            to_state=State.CANCELLED, reason=why[:300], agent_id=callback.agent_id)
            for callback in accepted])
        result.changed = Callback.objects.filter(pk__in=[c.pk for c in accepted]).update(
            state=State.CANCELLED, closed_at=now, updated_at=now)
        _record_bulk(by, "cancel", accepted, f"取消 {result.changed} 条回访任务：{why}")
    return result
