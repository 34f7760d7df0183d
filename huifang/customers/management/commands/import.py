"""`huifang import customers FILE` / `huifang import events FILE`: a counter or CRM export into the database.

    huifang import customers FILE [--profile NAME] [--json] [--rejects PATH] [--branch CODE ...]

Exit status 0 when the file was imported (some rows may have been refused: see the counts and the rejects
file), 1 when the file could not be read at all (nothing changed), 2 for bad arguments."""

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huifang.customers.imports.profiles import BUILTIN_PROFILES, saved_profile
from huifang.customers.imports.readers import ImportFileError
from huifang.customers.imports.services import import_file
from huifang.customers.models import ImportProfile
from huifang.org.models import Branch


class Command(BaseCommand):
    help = "导入客户或业务事件（CSV / XLSX）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["customers", "events"])
        parser.add_argument("file", type=Path)
        parser.add_argument("--profile", help=f"导入方案：{', '.join(BUILTIN_PROFILES)}，"
                                              "或在导入页面保存的公司级方案的名称；不填则按表头自动识别")
        parser.add_argument("--json", action="store_true", help="只输出一行 JSON：各项计数")
        parser.add_argument("--rejects", type=Path, help="被拒绝的行写到这个文件（默认：与输入文件同目录）")
        parser.add_argument("--branch", action="append", default=[], metavar="CODE",
                            help="只允许导入这些营业部的数据（可重复）；默认不限")
        parser.add_argument("--source", default="import", help="记录在电话号码和事件上的来源（默认 import）")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        kind = options["kind"]
        if not path.is_file():
            raise CommandError(f"找不到文件：{path}", returncode=2)
        profile = None
        if options["profile"]:
            profile = BUILTIN_PROFILES.get(options["profile"])
            if profile is None:
                # A company-wide profile saved on the import page, by its name.
                saved = ImportProfile.objects.filter(branch=None, kind=kind, name=options["profile"]).first()
                if saved is None:
                    names = [*BUILTIN_PROFILES, *ImportProfile.objects.filter(branch=None, kind=kind)
                             .values_list("name", flat=True)]
                    raise CommandError(f"没有名为 {options['profile']} 的导入方案；可选：{', '.join(names)}",
                                       returncode=2)
                profile = saved_profile(name=saved.name, label=saved.name, kind=kind, mapping=saved.mapping)
        allowed = None
        if options["branch"]:
            branches = dict(Branch.objects.filter(code__in=options["branch"]).values_list("code", "id"))
            unknown = sorted(set(options["branch"]) - set(branches))
            if unknown:
                raise CommandError(f"未知营业部代码：{'、'.join(unknown)}", returncode=2)
            allowed = set(branches.values())
        rejects = options["rejects"] or path.with_name(f"{path.stem}.rejects.csv")
        try:
            result = import_file(path=path, kind=kind, actor=None, allowed_branch_ids=allowed, profile=profile,
                                 source=options["source"][:30], rejects_path=rejects)
        except ImportFileError as error:
            if options["json"]:
                self.stdout.write(json.dumps({"error": str(error)}, ensure_ascii=False))
            raise CommandError(f"文件未导入：{error}", returncode=1) from None
        counts = result.counts()
        if options["json"]:
            self.stdout.write(json.dumps(
                {**counts, "profile": result.profile, "rejects_file": str(result.rejects_path or "")},
                ensure_ascii=False))
            return
        self.stdout.write(f"导入方案：{result.profile}（编码 {result.encoding or 'xlsx'}）")
        self.stdout.write("读取 {read}，新增 {created}，更新 {updated}，未变 {unchanged}，拒绝 {rejected}"
                          .format(**counts))
        if result.ignored_columns:
            self.stdout.write(f"未导入的列：{'、'.join(result.ignored_columns)}")
        for refusal in result.errors[:20]:
            self.stdout.write(f"  第 {refusal.line} 行 {refusal.column}：{refusal.message}")
        if result.rejected > 20:
            self.stdout.write("  ……其余见拒绝文件")
        if result.rejects_path:
            self.stdout.write(f"被拒绝的行（含原因）：{result.rejects_path}")
        sys.stdout.flush()
