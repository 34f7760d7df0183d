"""`huifang rules run` / `huifang rules explain`: the trigger rules from the shell.

    huifang rules run [--as-of DATE] [--dry-run] [--json]
    huifang rules explain --rule ID --customer NO [--as-of DATE]

`run` runs every active rule of every active automatic type as of DATE (default: today) and prints what it
created (a dry run: what it would create) per type and branch, as a table or, with --json, as the API's answer.
`explain` prints each condition of one rule for one customer and whether it holds.

Exit status 0 when the run was made (rules that could not run are listed; see "errors"), 1 when a rule cannot
be explained (e.g. the calendar does not cover the year), 2 for bad arguments."""

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from huifang.callbacks.choices import RunTrigger
from huifang.callbacks.schemas import run_out
from huifang.callbacks.services import CallbackError, explain_rule, run_rules
from huifang.campaigns.models import CallbackType, Rule
from huifang.customers.models import Customer
from huifang.customers.rules import InvalidCustomerNumber, parse_customer_no
from huifang.lib.workdays import parse_date
from huifang.org.models import Branch

BAD_ARGUMENT = 2
FAILED = 1


def _as_of(text: str | None) -> dt.date:
    if not text:
        return timezone.localdate()
    try:
        return parse_date(text)
    except ValueError as error:
        raise CommandError(f"--as-of {error}", returncode=BAD_ARGUMENT) from None


class Command(BaseCommand):
    help = "运行回访触发规则，或解释一条规则对某个客户是否成立"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="SUBCOMMAND")
        run = sub.add_parser("run", help="运行全部启用的触发规则")
        run.add_argument("--as-of", dest="as_of", metavar="DATE", help="按此日期运行（YYYY-MM-DD，默认今天）")
        run.add_argument("--dry-run", dest="dry_run", action="store_true", help="试运行：只统计，不生成回访任务")
        run.add_argument("--json", action="store_true", help="输出 JSON（与 API 的返回相同）")
        explain = sub.add_parser("explain", help="逐条列出规则的条件对某个客户是否成立")
        explain.add_argument("--rule", required=True, metavar="ID", help="规则编号")
        explain.add_argument("--customer", required=True, metavar="NO", help="客户编号")
        explain.add_argument("--as-of", dest="as_of", metavar="DATE", help="按此日期判断（YYYY-MM-DD，默认今天）")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "run":
            self._run(as_of=_as_of(options["as_of"]), dry_run=options["dry_run"], as_json=options["json"])
        else:
            self._explain(rule_id=options["rule"], customer_no=options["customer"], as_of=_as_of(options["as_of"]))

    def _run(self, *, as_of: dt.date, dry_run: bool, as_json: bool) -> None:
        answer = run_out(run_rules(as_of=as_of, dry_run=dry_run, trigger=RunTrigger.MANUAL))
        if as_json:
            self.stdout.write(json.dumps(answer, ensure_ascii=False, cls=DjangoJSONEncoder))
            return
        verb = "将生成" if dry_run else "生成"
        self.stdout.write(f"{'试运行' if dry_run else '运行'}回访规则（截至 {as_of}，运行编号 {answer['run_id']}）："
                          f"{verb} {answer['created']} 条回访任务")
        if answer["counts"]:
            types = dict(CallbackType.objects.values_list("code", "name"))
            branches = dict(Branch.objects.values_list("code", "name"))
            rows: list[tuple[str, ...]] = [(f"{types.get(c['type'], c['type'])}（{c['type']}）",
                     f"{branches.get(c['branch'], c['branch'])}（{c['branch']}）", str(c["count"]))
                    for c in answer["counts"]]
            self._table(("回访类型", "营业部", f"{verb}数量"), rows)
        for error in answer["errors"]:
            self.stdout.write(f"规则 {error['rule']}（{error['name']}）：{error['message']}")

    def _table(self, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        def width(text: str) -> int:  # a CJK character takes two columns
            return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)

        widths = [max(width(row[i]) for row in [header, *rows]) for i in range(len(header))]

        def line(row: tuple[str, ...]) -> str:
            cells = [cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(row)]
            return "  ".join(cells).rstrip()

        self.stdout.write(line(header))
        self.stdout.write("  ".join("-" * w for w in widths))
        for row in rows:
            self.stdout.write(line(row))

    def _explain(self, *, rule_id: str, customer_no: str, as_of: dt.date) -> None:
        if not rule_id.strip().isdigit():
            raise CommandError(f"--rule 应为规则编号（整数），收到“{rule_id}”", returncode=BAD_ARGUMENT)
        rule = Rule.objects.select_related("callback_type").filter(pk=int(rule_id)).first()
        if rule is None:
            raise CommandError(f"规则 {rule_id} 不存在", returncode=BAD_ARGUMENT)
        try:
            number = parse_customer_no(customer_no)
        except InvalidCustomerNumber as error:
            raise CommandError(str(error), returncode=BAD_ARGUMENT) from None
        customer = Customer.objects.filter(customer_no=number).first()
        if customer is None:
            raise CommandError(f"客户 {number} 不存在", returncode=BAD_ARGUMENT)
        try:
            steps = explain_rule(rule=rule, customer=customer, as_of=as_of)
        except CallbackError as error:
            raise CommandError(f"规则无法解释：{error}", returncode=FAILED) from None
        self.stdout.write(f"规则 {rule.pk}（{rule.name}，{rule.callback_type.name}）对客户 {customer.customer_no}"
                          f"（截至 {as_of}）：")
        for step in steps:
            self.stdout.write(f"  {'成立  ' if step['holds'] else '不满足'}  {step['condition']}")
