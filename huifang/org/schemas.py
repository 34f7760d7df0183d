from ninja import Schema


class BranchOut(Schema):
    id: int
    code: str
    name: str
    is_headquarters: bool
    city: str


class TeamOut(Schema):
    id: int
    name: str
    branch_code: str
    lead_id: int | None


class DepartmentOut(Schema):
    id: int
    code: str
    name: str
    branch_code: str


class UserOut(Schema):
    id: int
    username: str
    name: str
    agent_no: str | None
    extension: str
    branch_code: str | None
    team_id: int | None
    roles: list[str]
    is_active: bool
