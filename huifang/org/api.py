"""Organisation endpoints: read-only, branch-scoped. Another branch's objects answer 404."""

from typing import Any

from django.http import HttpRequest
from ninja import Router

from huifang.org.models import Department, Team, User
from huifang.org.queries import (
    access_branch,
    access_department,
    access_team,
    access_user,
    visible_branches,
    visible_users,
)
from huifang.org.schemas import BranchOut, DepartmentOut, TeamOut, UserOut

router = Router(tags=["org"])


def _user_out(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.name,
        "agent_no": user.agent_no,
        "extension": user.extension,
        "branch_code": user.branch.code if user.branch else None,
        "team_id": user.team_id,
        "roles": sorted(group.name for group in user.groups.all()),
        "is_active": user.is_active,
    }


def _team_out(team: Team) -> dict[str, Any]:
    return {"id": team.pk, "name": team.name, "branch_code": team.branch.code, "lead_id": team.lead_id}


def _department_out(department: Department) -> dict[str, Any]:
    return {"id": department.pk, "code": department.code, "name": department.name,
            "branch_code": department.branch.code}


@router.get("/me", response=UserOut, summary="The logged-in user")
def me(request: HttpRequest) -> dict[str, Any]:
    return _user_out(access_user(request.user, request.user.pk))


@router.get("/branches", response=list[BranchOut])
def list_branches(request: HttpRequest) -> Any:
    return visible_branches(request.user)


@router.get("/branches/{branch_id}", response=BranchOut)
def get_branch(request: HttpRequest, branch_id: int) -> Any:
    return access_branch(request.user, branch_id)


@router.get("/users", response=list[UserOut])
def list_users(request: HttpRequest, branch: str | None = None) -> list[dict[str, Any]]:
    users = visible_users(request.user)
    if branch:
        users = users.filter(branch__code=branch)
    return [_user_out(user) for user in users]


@router.get("/users/{user_id}", response=UserOut)
def get_user(request: HttpRequest, user_id: int) -> dict[str, Any]:
    return _user_out(access_user(request.user, user_id))


@router.get("/teams", response=list[TeamOut])
def list_teams(request: HttpRequest) -> list[dict[str, Any]]:
    return [_team_out(team) for team in Team.objects.visible_to(request.user).select_related("branch")]


@router.get("/teams/{team_id}", response=TeamOut)
def get_team(request: HttpRequest, team_id: int) -> dict[str, Any]:
    return _team_out(access_team(request.user, team_id))


@router.get("/departments", response=list[DepartmentOut])
def list_departments(request: HttpRequest) -> list[dict[str, Any]]:
    departments = Department.objects.visible_to(request.user).select_related("branch")
    return [_department_out(department) for department in departments]


@router.get("/departments/{department_id}", response=DepartmentOut)
def get_department(request: HttpRequest, department_id: int) -> dict[str, Any]:
    return _department_out(access_department(request.user, department_id))
