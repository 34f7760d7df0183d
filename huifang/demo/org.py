"""The demo organisation: headquarters, five branches, departments, teams and about thirty-five users covering
every role. Built through the organisation's own services (create_user), so the demo is what a real
administrator would have entered."""

import random
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password

from huifang.demo.names import person_name, surnames
from huifang.org.choices import Role
from huifang.org.models import Branch, Department, Team, User
from huifang.org.services import create_user


@dataclass(frozen=True)
class BranchSpec:
    code: str
    name: str
    city: str
    #: telephone area code, for the branch's and its customers' landlines
    area_code: str
    #: share of the customers
    weight: float
    #: short name for teams ("浦东回访组")
    short: str


HEADQUARTERS = BranchSpec("0000", "总部", "上海", "021", 0.0, "总部")
BRANCHES = [
    BranchSpec("3101", "上海浦东营业部", "上海", "021", 0.30, "浦东"),
    BranchSpec("1101", "北京金融街营业部", "北京", "010", 0.25, "金融街"),
    BranchSpec("4403", "深圳福田营业部", "深圳", "0755", 0.20, "福田"),
    BranchSpec("4401", "广州天河营业部", "广州", "020", 0.15, "天河"),
    BranchSpec("3301", "杭州西湖营业部", "杭州", "0571", 0.10, "西湖"),
]
DEMO_BRANCH_CODES = [HEADQUARTERS.code, *(spec.code for spec in BRANCHES)]

# (code suffix, name) of the departments at headquarters; every branch also has a 综合管理部.
HQ_DEPARTMENTS = [
    ("CC", "客服中心"), ("COMP", "合规部"), ("BRK", "经纪业务部"), ("RISK", "风控部"), ("OPS", "运营部"),
    ("WM", "财富管理部"),
]
# Branches that have a team lead of their own; the others' agents are led from headquarters.
BRANCHES_WITH_LEAD = {"3101", "1101"}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    name: str
    role: str
    branch: str


@dataclass
class DemoOrg:
    headquarters: Branch
    branches: list[Branch]
    specs: dict[int, BranchSpec]
    logins: list[DemoLogin] = field(default_factory=list)
    #: branch id → [(user id, agent number)] of its client managers
    managers: dict[int, list[tuple[int, str]]] = field(default_factory=dict)


def user_specs() -> list[tuple[str, str, str, str | None, str | None]]:
    """(username, role, branch code, team key, department key) of every demo user, in a fixed order.
    A team key "lead:" marks the team's lead; "hq1", "qa" and branch codes name teams."""
    specs: list[tuple[str, str, str, str | None, str | None]] = [
        ("admin", Role.ADMIN, "0000", None, "OPS"),
        ("supervisor", Role.HQ_SUPERVISOR, "0000", None, "CC"),
        ("auditor", Role.AUDITOR, "0000", None, "COMP"),
        ("hq_lead", Role.TEAM_LEAD, "0000", "lead:hq1", "CC"),
        ("hq_agent", Role.AGENT, "0000", "hq1", "CC"),
        ("qa", Role.QA_INSPECTOR, "0000", "lead:qa", "CC"),
        ("risk", Role.RISK_OFFICER, "0000", None, "RISK"),
        ("compliance", Role.DEPARTMENT_HANDLER, "0000", None, "COMP"),
    ]
    for spec in BRANCHES:
        code = spec.code
        specs.append((f"op{code}", Role.BRANCH_OPERATOR, code, None, "GEN"))
        if code in BRANCHES_WITH_LEAD:
            specs.append((f"lead{code}", Role.TEAM_LEAD, code, f"lead:{code}", None))
        specs.append((f"agent{code}a", Role.AGENT, code, code, None))
        specs.append((f"agent{code}b", Role.AGENT, code, code, None))
        specs.append((f"cm{code}a", Role.CLIENT_MANAGER, code, None, None))
        specs.append((f"cm{code}b", Role.CLIENT_MANAGER, code, None, None))
    return specs


def build_org(*, seed: int, password: str) -> DemoOrg:
    """Create headquarters, the branches, departments, teams and users.
    Precondition: none of them exists (the caller checks). Side effects: rows in org, and one audit entry per
    user (create_user)."""
    rng = random.Random(f"{seed}:org")
    headquarters = Branch.objects.create(
        code=HEADQUARTERS.code, name=HEADQUARTERS.name, city=HEADQUARTERS.city, is_headquarters=True,
        phone="021-68880000",
    )
    branches = [
        Branch.objects.create(code=spec.code, name=spec.name, city=spec.city,
                              phone=f"{spec.area_code}-{rng.randint(5000, 6999)}{rng.randint(1000, 9999)}")
        for spec in BRANCHES
    ]
    by_code = {branch.code: branch for branch in [headquarters, *branches]}
    specs = {by_code[spec.code].pk: spec for spec in [HEADQUARTERS, *BRANCHES]}

    departments = {
        key: Department.objects.create(branch=headquarters, code=f"HQ-{key}", name=name,
                                       email=f"hq-{key.lower()}@demo.huifang.example")
        for key, name in HQ_DEPARTMENTS
    }
    branch_departments = {
        branch.code: Department.objects.create(branch=branch, code=f"{branch.code}-GEN", name="综合管理部",
                                               email=f"b{branch.code}@demo.huifang.example")
        for branch in branches
    }
    teams = {
        "hq1": Team.objects.create(branch=headquarters, name="总部回访一组"),
        "qa": Team.objects.create(branch=headquarters, name="质检组"),
    }
    for spec in BRANCHES:
        teams[spec.code] = Team.objects.create(branch=by_code[spec.code], name=f"{spec.short}回访组")

    org = DemoOrg(headquarters=headquarters, branches=branches, specs=specs)
    role_labels = dict(Role.choices)
    people = user_specs()
    names = surnames(rng, len(people))
    for n, (username, role, code, team_key, department_key) in enumerate(people, start=1):
        branch = by_code[code]
        is_lead = bool(team_key and team_key.startswith("lead:"))
        team = teams[team_key.removeprefix("lead:")] if team_key else None
        department = None
        if department_key == "GEN":
            department = branch_departments[code]
        elif department_key:
            department = departments[department_key]
        agent_no = f"{10000 + n}"
        user = create_user(
            username=username, password=None, name=person_name(rng, names[n - 1], rng.random() < 0.5),
            branch=branch, roles=[role], agent_no=agent_no,
            extension="" if role in {Role.ADMIN, Role.AUDITOR} else f"8{n:03d}",
            team=team, email=f"{username}@demo.huifang.example",
        )
        if department is not None:
            User.objects.filter(pk=user.pk).update(department=department)
        if is_lead and team is not None:
            team.lead = user
            team.save(update_fields=["lead"])
        if role == Role.CLIENT_MANAGER:
            org.managers.setdefault(branch.pk, []).append((user.pk, agent_no))
        org.logins.append(DemoLogin(username=username, name=user.name, role=str(role_labels[role]),
                                    branch=branch.name))
    # One hash for the one shared demo password: argon2 costs ~0.3 s a hash, 35 of them would dominate
    # small builds; the demo password is public anyway.
    User.objects.filter(username__in=[login.username for login in org.logins]).update(
        password=make_password(password)
    )
    return org
