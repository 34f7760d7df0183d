"""`huifang surveys rotation-hints [--days N]`: the questions whose answers stayed at the best option (DOMAIN.md
seed 002), for the HQ supervisor to rotate for an equivalent question."""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from huifang.surveys.statistics import rotation_hints


class Command(BaseCommand):
    help = "问卷统计：需要轮换的题目"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["rotation-hints"])
        parser.add_argument("--days", type=int, default=90, help="统计最近多少天的答卷（默认 90）")

    def handle(self, *args: Any, **options: Any) -> None:
        until = timezone.now()
        hints = rotation_hints(since=until - dt.timedelta(days=options["days"]), until=until)
        if not hints:
            self.stdout.write("没有需要轮换的题目。")
            return
        for hint in hints:
            self.stdout.write(f"{hint.questionnaire} 第 {hint.version} 版 {hint.question}“{hint.text}”："
                              f"{hint.answered} 个回答中 {hint.share:.0%} 为“{hint.best}”，建议换用同义题目")
