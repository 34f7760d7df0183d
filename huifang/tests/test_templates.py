"""Template hygiene that Django does not check: a `{# … #}` comment must end on its own line, else Django prints
it into the page as text."""

from pathlib import Path

from django.test import Client

ROOT = Path(__file__).resolve().parent.parent


def test_no_template_comment_spans_lines() -> None:
    broken = []
    for template in sorted(ROOT.rglob("templates/**/*.html")):
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), start=1):
            start = line.find("{#")
            if start != -1 and "#}" not in line[start:]:
                broken.append(f"{template.relative_to(ROOT)}:{number}")
    assert not broken, "{# #} comments are single-line; use {% comment %} for: " + ", ".join(broken)


def test_the_login_page_shows_no_template_comment(client: Client) -> None:
    page = client.get("/login/").content.decode()
    assert "{#" not in page and "{% comment" not in page
