from collections.abc import Callable

from django.contrib.auth.models import Permission
from django.test import Client

from huifang.customers.models import Customer
from huifang.customers.tests.conftest import MOBILE_A
from huifang.org.choices import Role
from huifang.org.models import Branch, User

Login = Callable[[User], Client]


def _staff_with_customer_view(make_user: Callable[..., User], branch: Branch) -> User:
    user = make_user(branch, Role.ADMIN)
    user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    return user


def test_admin_list_of_a_branch_staff_holds_only_its_branch(login: Login, make_user: Callable[..., User],
                                                             branch_a: Branch, customer_a: Customer,
                                                             customer_b: Customer) -> None:
    staff = _staff_with_customer_view(make_user, branch_a)
    response = login(staff).get("/manage/customers/customer/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "0031010000001" in page and "0044010000001" not in page


def test_admin_of_other_branch_customer_is_not_found(login: Login, make_user: Callable[..., User],
                                                     branch_b: Branch, customer_a: Customer) -> None:
    staff = _staff_with_customer_view(make_user, branch_b)
    response = login(staff).get(f"/manage/customers/customer/{customer_a.pk}/change/")
    # The admin answers a row outside the queryset with a redirect to its index and a "does not exist" message.
    assert response.status_code == 302


def test_admin_form_shows_phones_masked(login: Login, make_user: Callable[..., User], hq: Branch,
                                        customer_a: Customer) -> None:
    staff = _staff_with_customer_view(make_user, hq)
    page = login(staff).get(f"/manage/customers/customer/{customer_a.pk}/change/").content.decode()
    assert "139****5678" in page
    assert MOBILE_A not in page
