"""`huifang demo-data`: build the demo brokerage and print its logins."""

import unicodedata
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation

from huifang.callbacks.choices import RunTrigger
from huifang.callbacks.services import book_appointment, run_rules
from huifang.demo.build import (
    DEFAULT_CUSTOMERS,
    DEFAULT_SEED,
    DemoDataError,
    build_demo,
    existing_logins,
    has_organisation,
    reset_demo,
)
from huifang.demo.bulk import refresh_statistics
from huifang.demo.history import DAYS, build_history, remove_history
from huifang.demo.hours import open_demo_calling_hours
from huifang.demo.org import DemoLogin


def book_demo_appointments() -> int:
    """For each demo agent, a customer of their branch with two or more unassigned callbacks, booked for them
    today: their first "next" then shows one call serving several callbacks. Returns how many agents got one."""
    from django.db.models import Count, Q

    from huifang.callbacks.models import Callback
    from huifang.org.models import User

    now = timezone.now()
    taken: set[int] = set()
    booked = 0
    for agent in User.objects.filter(groups__name="agent", agent_no__isnull=False, is_active=True).order_by("pk"):
        # workable now: not in cooling-off or waiting for the next trading day
        pool = Callback.objects.filter(Q(not_before__isnull=True) | Q(not_before__lte=now), state="new",
                                       branch_id=agent.branch_id)
        customers = (pool.exclude(customer__manager=agent).exclude(customer_id__in=taken)
                     .values("customer_id").annotate(n=Count("id")).filter(n__gte=2).order_by("-n", "customer_id"))
        first = customers.first()
        if first is None:
            continue
        taken.add(first["customer_id"])
        book_appointment(callbacks=list(pool.filter(customer_id=first["customer_id"])), at=now, agent=agent,
                         reason="演示：客户预约今天回访")
        booked += 1
    return booked


def _width(text: str) -> int:
    """Display width in a terminal: Chinese characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def login_table(logins: list[DemoLogin], password: str) -> str:
    """The demo logins as a text table: user name, name, role, branch, password."""
    header = ("用户名", "姓名", "角色", "营业部", "密码")
    rows = [(login.username, login.name, login.role, login.branch, password) for login in logins]
    widths = [max(_width(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = ["  ".join(_pad(cell, width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


class Command(BaseCommand):
    help = "生成演示数据：总部、5个营业部、各角色用户、客户及一年的业务事件（固定随机种子，每次结果相同）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS,
                            help=f"客户数量（默认 {DEFAULT_CUSTOMERS:,}）")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="随机种子")
        parser.add_argument("--if-empty", action="store_true",
                            help="数据库中已有营业部时什么都不做（启动脚本每次都可调用）")
        parser.add_argument("--reset", action="store_true", help="先删除已有的演示数据，再重新生成")
        parser.add_argument("--keep-calling-hours", action="store_true",
                            help="保留各回访类型的呼叫时段（默认放宽为全天，便于随时试用演示）")
        parser.add_argument("--no-history", action="store_true",
                            help=f"不生成近 {DAYS} 天的历史通话与回访登记（默认生成，供报表和看板演示）")

    def handle(self, *args: Any, customers: int, seed: int, if_empty: bool, reset: bool, keep_calling_hours: bool,
               no_history: bool = False, **options: Any) -> None:
        if customers < 0:
            raise CommandError("--customers 不能为负数")
        if if_empty and has_organisation():
            self.stdout.write("数据库中已有数据（营业部已存在），跳过演示数据生成。")
            with translation.override("zh-hans"):
                logins = existing_logins()
            if logins:
                table = login_table(logins, settings.DEMO_PASSWORD)
                self.stdout.write("\n演示登录账号（密码为生成时的演示密码）：\n" + table)
            return
        verbosity = options.get("verbosity", 1)
        # Role labels and messages in Chinese, whatever the shell's locale.
        with translation.override("zh-hans"):
            try:
                if reset and has_organisation():
                    self.stdout.write("删除已有的演示数据……")
                    refresh_statistics()
                    remove_history()
                    reset_demo()
                summary = build_demo(
                    customers=customers, seed=seed,
                    progress=(lambda message: self.stdout.write(message)) if verbosity > 1 else None,
                )
            except DemoDataError as error:
                raise CommandError(str(error)) from error
            refresh_statistics()
            # The demo's callbacks: what the trigger rules find as of today, as the 15:30 schedule would.
            rules = run_rules(as_of=timezone.localdate(), trigger=RunTrigger.MANUAL)
            self.stdout.write(f"回访规则（截至今天）生成 {rules.total:,} 条回访任务。")
            for outcome in rules.outcomes:
                if outcome.error:
                    self.stdout.write(f"  规则“{outcome.rule}”：{outcome.error}")
            if not keep_calling_hours and open_demo_calling_hours():
                self.stdout.write("演示环境：各回访类型的呼叫时段放宽为全天（生产环境默认 09:00–20:30，可按类型配置；"
                                  "保留默认时段请加 --keep-calling-hours）。")
            booked = book_demo_appointments()
            if booked:
                self.stdout.write(f"为 {booked} 名回访专员各预约了一位有多个回访任务的客户（今天），"
                                  "“获得外呼对象”先给出这位客户：一次通话完成他的全部回访。")
            if not no_history:
                past = build_history(seed=seed)
                refresh_statistics()
                self.stdout.write(f"历史数据：近 {DAYS} 天的 {past.days} 个工作日，{past.calls:,} 通电话，"
                                  f"{past.outcomes:,} 条回访登记（成功回访 {past.successes:,}），"
                                  f"{past.callbacks:,} 条回访任务（{past.still_open:,} 条仍在进行），"
                                  f"{past.responses:,} 份问卷答卷，"
                                  f"{past.corrections:,} 个空号/停机号码列入号码纠错清单，"
                                  f"汇总表已重建，用时 {past.seconds:.1f} 秒。")
            self.stdout.write(self.style.SUCCESS(
                f"演示数据已生成：{summary.branches} 个机构，{summary.users} 个用户，{summary.customers:,} 位客户，"
                f"{summary.phones:,} 个电话，{summary.events:,} 条业务事件，用时 {summary.seconds:.1f} 秒。"
            ))
            self.stdout.write("\n演示登录账号：\n" + login_table(summary.logins, summary.password))
