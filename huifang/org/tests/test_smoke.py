from huifang.org.models import User


def test_agent_of_branch_a_sees_home_in_chinese(login, agent_a: User) -> None:
    response = login(agent_a).get("/")
    assert response.status_code == 200
    assert "回访" in response.content.decode()
