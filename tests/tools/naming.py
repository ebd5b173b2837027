#!/usr/bin/env python3
"""tests/tools/naming.py: every test file follows the one naming scheme of
tests/run.py's docstring ("Naming").

A test program in the harness protocol (tests/pydriver.py), run once
(NAME.TEST@native):
- file names: tests/KIND/SUBJECT.EXT, SUBJECT in lower case with
  underscores, no "test" prefix or suffix (the directory says what the
  file is), EXT .c for C tests and .py for drivers and helpers; the shared
  code lives in tests/ itself (harness.[ch], testlib.[ch], pydriver.py,
  run.py);
- the driver of a tool apps/NAME is tests/apps/NAME.py with '-' as '_'
  (a Python module name);
- test names: lower case with underscores, and unique in their program
  (the unit tests of all tests/unit/*.c files are one program, where two
  files could register the same name and run.py could not tell them
  apart).
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import pydriver  # noqa: E402
from pydriver import check  # noqa: E402

TESTS = os.path.join(ROOT, "tests")
# What each directory of tests/ holds, by extension.
KINDS = {"unit": ".c", "component": ".c", "wasi": ".c", "servers": ".c", "apps": ".py", "tools": ".py",
         "helpers": ".py"}
SHARED = {"harness.c", "harness.h", "testlib.c", "testlib.h", "pydriver.py", "run.py", "lsan.supp"}
SUBJECT = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
TEST_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
C_TEST = re.compile(r"^TEST\(([^)]*)\)", re.M)


def tracked(d):
    return sorted(f for f in os.listdir(d) if not f.startswith(".") and f != "__pycache__")


def file_problems(tests_dir):
    problems = []
    for f in tracked(tests_dir):
        path = os.path.join(tests_dir, f)
        if os.path.isdir(path):
            if f not in KINDS:
                problems.append(f"tests/{f}/: not a kind of test ({', '.join(sorted(KINDS))})")
            continue
        if f not in SHARED:
            problems.append(f"tests/{f}: only the shared files ({', '.join(sorted(SHARED))}) live in tests/")
    for kind, ext in KINDS.items():
        d = os.path.join(tests_dir, kind)
        if not os.path.isdir(d):
            continue
        for f in tracked(d):
            stem, e = os.path.splitext(f)
            if e != ext:
                problems.append(f"tests/{kind}/{f}: tests/{kind} holds {ext} files")
            elif not SUBJECT.match(stem):
                problems.append(f"tests/{kind}/{f}: not lower_case_with_underscores")
            elif stem.startswith("test_") or stem.endswith("_test") or stem == "test":
                problems.append(f"tests/{kind}/{f}: \"test\" in the name (the directory says it)")
    return problems


def test_file_names(host):
    problems = file_problems(TESTS)
    check(not problems, "\n".join(problems))


def test_apps_have_drivers(host):
    missing = [a for a in tracked(os.path.join(ROOT, "apps"))
               if not os.path.exists(os.path.join(TESTS, "apps", a.replace("-", "_") + ".py"))]
    check(not missing, f"apps without tests/apps/NAME.py: {missing}")


def unit_name_problems(files):
    problems, seen = [], {}
    for path in files:
        with open(path) as f:
            for name in C_TEST.findall(f.read()):
                where = os.path.relpath(path, ROOT)
                if not TEST_NAME.match(name):
                    problems.append(f"{where}: test name {name!r} is not lower_case_with_underscores")
                if name in seen:
                    problems.append(f"{where}: test {name} is also in {seen[name]}")
                seen[name] = where
    return problems


def test_unit_names_unique(host):
    d = os.path.join(TESTS, "unit")
    problems = unit_name_problems([os.path.join(d, f) for f in tracked(d) if f.endswith(".c")])
    check(not problems, "\n".join(problems))


def test_checks_catch_bad_names(host):
    """The checks above fail where they should (on a made-up tree)."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        for kind in ("unit", "apps"):
            os.makedirs(os.path.join(d, kind))
        for f in ("unit/foo_test.c", "unit/test_bar.c", "unit/Baz.c", "unit/util.h", "apps/ok.py", "stray.c"):
            open(os.path.join(d, f), "w").close()
        got = "\n".join(file_problems(d))
        for want in ("unit/foo_test.c", "unit/test_bar.c", "unit/Baz.c", "unit/util.h", "tests/stray.c"):
            check(want in got, f"missed {want}: {got}")
        check("apps/ok.py" not in got, f"refused a good name: {got}")
        a, b = os.path.join(d, "a.c"), os.path.join(d, "b.c")
        with open(a, "w") as f:
            f.write("TEST(same_name) {}\nTEST(BadName) {}\n")
        with open(b, "w") as f:
            f.write("TEST(same_name) {}\n")
        got = "\n".join(unit_name_problems([a, b]))
        check("same_name is also in" in got and "'BadName'" in got, f"missed: {got}")


if __name__ == "__main__":
    sys.exit(pydriver.main(globals()))
