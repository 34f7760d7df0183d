"""Checks that every user-visible string has a Simplified Chinese translation and that each committed .mo is
the compiled form of its .po. Regenerates the catalogs in a scratch copy of the tree, so nothing is written
here. Needs gettext (msgfmt, xgettext). Exit code 1 with the missing strings listed."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANG = "zh_Hans"


def msgids(po: Path) -> dict[str, str]:
    """msgid -> msgstr (first form for plurals), of the entries that are not obsolete."""
    entries: dict[str, str] = {}
    text = po.read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        if block.lstrip().startswith("#~"):
            continue
        fuzzy = "#, fuzzy" in block or ", fuzzy" in block
        match = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if not match:
            continue
        msgid = "".join(re.findall(r'"(.*)"', match.group(1)))
        if not msgid:
            continue
        strs = re.search(r'^msgstr(?:\[0\])? ((?:".*"\n?)+)', block, re.M)
        msgstr = "".join(re.findall(r'"(.*)"', strs.group(1))) if strs else ""
        entries[msgid] = "" if fuzzy else msgstr
    return entries


def main() -> int:
    problems: list[str] = []
    catalogs = sorted(ROOT.glob(f"huifang/**/locale/{LANG}/LC_MESSAGES/django.po"))
    if not catalogs:
        print("no catalogs found", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "tree"
        shutil.copytree(ROOT / "huifang", copy / "huifang", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(ROOT / "config", copy / "config", ignore=shutil.ignore_patterns("__pycache__"))
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "PYTHONPATH": str(copy),
               "HUIFANG_VAR_DIR": str(Path(scratch) / "var")}
        # Run from the top: strings of an app with its own locale folder go there, the rest to huifang/locale.
        subprocess.run(
            [sys.executable, "-m", "django", "makemessages", "-l", LANG, "--no-obsolete", "-v", "0",
             "--ignore", "*/tests/*", "--ignore", "*/migrations/*"],
            cwd=copy, env=env, check=True,
        )
        for po in catalogs:
            fresh = copy / po.relative_to(ROOT)
            committed = msgids(po)
            for msgid, _ in msgids(fresh).items():
                if msgid not in committed:
                    problems.append(f"{po.relative_to(ROOT)}: not in the catalog: {msgid!r}")
                elif not committed[msgid]:
                    problems.append(f"{po.relative_to(ROOT)}: no translation (or fuzzy): {msgid!r}")
            mo = po.with_suffix(".mo")
            built = Path(scratch) / "check.mo"
            subprocess.run(["msgfmt", "--check", "-o", str(built), str(po)], check=True)
            if not mo.exists() or mo.read_bytes() != built.read_bytes():
                problems.append(f"{mo.relative_to(ROOT)}: out of date: run compilemessages")
    for problem in problems:
        print(problem)
    print(f"{len(catalogs)} catalogs, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
