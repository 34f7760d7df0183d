"""`huifang create-api-client --name N (--branch CODE ... | --all-branches) [--scope SCOPE ...]`: create an API
client for a CRM or counter system and print its bearer token, once (only its hash is kept).

The token is the only thing written to stdout, so that scripts can capture it; the rest goes to stderr."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huifang.org.choices import ApiScope
from huifang.org.models import Branch
from huifang.org.services import ApiClientError, create_api_client


class Command(BaseCommand):
    help = "Create an API client and print its bearer token once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="unique name of the calling system")
        parser.add_argument("--branch", action="append", default=[], metavar="CODE",
                            help="branch code the client may reach (repeatable)")
        parser.add_argument("--all-branches", action="store_true", help="the client may reach every branch")
        parser.add_argument("--scope", action="append", default=None,
                            help=f"what the client may do (repeatable; {', '.join(ApiScope.values)}); default: all")

    def handle(self, *args: Any, **options: Any) -> None:
        codes: list[str] = list(dict.fromkeys(code.strip() for code in options["branch"] if code.strip()))
        if options["all_branches"] and codes:
            raise CommandError("--branch 与 --all-branches 只能选一个")
        if not options["all_branches"] and not codes:
            raise CommandError("请用 --branch CODE 指定营业部（可重复），或用 --all-branches 允许全部营业部")
        branches = list(Branch.objects.filter(code__in=codes))
        unknown = sorted(set(codes) - {branch.code for branch in branches})
        if unknown:
            raise CommandError(f"未知营业部代码：{', '.join(unknown)}")
        try:
            client, token = create_api_client(name=options["name"], branches=branches,
                                              all_branches=options["all_branches"], scopes=options["scope"])
        except ApiClientError as error:
            raise CommandError(str(error)) from None
        where = "全部营业部" if client.all_branches else "、".join(sorted(codes))
        self.stderr.write(f"已创建 API 客户端“{client.name}”（{where}；权限：{', '.join(client.scopes)}）。"
                          "令牌只显示这一次，请妥善保存：")
        self.stdout.write(token)
