#!/usr/bin/env python3
"""tests/tools/setup_order.py: the build waits for tools/setup.sh.

A test program in the harness protocol (tests/harness.h), run once by
tests/run.py (reported as setup_order.TEST@native; it builds nothing):
    setup_order.py --host native --list
    setup_order.py --host native [NAME...]

On a fresh machine `make demo` failed because the TLS library's rules used the
setup stamp before the Makefile defined it (issue 9); any machine that had
run setup once hid it. tools/check-setup-order reads make's database with
an empty WASIO_TOOLS and checks that every rule running a setup-installed
tool reaches the stamp. These tests run it on the Makefile, and on a copy
with the old fault put back, which it must catch, and with a directory
variable moved below the rules that name it (the same fault in general).
"""
import importlib.machinery
import importlib.util
import os
import re
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import pydriver  # noqa: E402
from pydriver import Failure, check  # noqa: E402,F401
CHECKER = os.path.join(ROOT, "tools", "check-setup-order")


def load_checker():
    loader = importlib.machinery.SourceFileLoader("check_setup_order", CHECKER)
    spec = importlib.util.spec_from_loader("check_setup_order", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_makefile_orders_setup(host):
    problems = load_checker().check(os.path.join(ROOT, "Makefile"))
    check(not problems, "\n".join(problems))


def test_check_catches_late_stamp(host):
    """The fault of issue 9: SETUP_STAMP defined below rules that name it."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        text = f.read()
    m = re.search(r"^SETUP_STAMP := .*\n", text, re.M)
    check(m, "the Makefile defines no SETUP_STAMP")
    late = text[:m.start()] + text[m.end():] + "\n" + m.group(0)
    # The copy must sit beside the real Makefile: its includes and wildcards
    # are relative to the repository.
    fd, path = tempfile.mkstemp(prefix=".setup-order-", suffix=".mk", dir=ROOT)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(late)
        problems = load_checker().check(path)
    finally:
        os.unlink(path)
    flagged = [p for p in problems if "libmbedtls.a" in p]
    check(flagged, f"the check missed the late stamp; it said: {problems}")


def test_check_catches_late_variable(host):
    """The general form: a rule names a directory variable defined below it."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        text = f.read()
    m = re.search(r"^R := .*\n", text, re.M)
    check(m, "the Makefile defines no R")
    late = text[:m.start()] + text[m.end():] + "\n" + m.group(0)
    fd, path = tempfile.mkstemp(prefix=".setup-order-", suffix=".mk", dir=ROOT)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(late)
        problems = load_checker().late_variables(path)
    finally:
        os.unlink(path)
    check(any("$(R)" in p for p in problems), f"the check missed $(R) defined late; it said: {problems}")


if __name__ == "__main__":
    sys.exit(pydriver.main(globals()))
