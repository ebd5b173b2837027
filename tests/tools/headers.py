#!/usr/bin/env python3
"""tests/tools/headers.py: the public headers document every function and
cite no private name (issue 10: "the headers are the whole contract").

A test program in the harness protocol (tests/pydriver.py), run once
(NAME.TEST@native). tools/check-headers reads include/wasio.h and
include/wasio/*.h; the test runs it on the tree, and on a copy with real
faults put in, which it must catch: the comment of wasio_tcp_write()
removed, a function slipped under the comment of another
(wasio_udp_send()'s), and a private name cited in a comment of loop.h and
in one that starts on a #define line of tls.h.
"""
import importlib.machinery
import importlib.util
import os
import re
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import pydriver  # noqa: E402
from pydriver import check  # noqa: E402


def checker():
    path = os.path.join(ROOT, "tools", "check-headers")
    loader = importlib.machinery.SourceFileLoader("check_headers", path)
    mod = importlib.util.module_from_spec(importlib.util.spec_from_loader("check_headers", loader))
    loader.exec_module(mod)
    return mod


def edit(path, fn):
    with open(path) as f:
        text = f.read()
    new = fn(text)
    check(new != text, f"the fault was not put into {path}: the header changed, update this test")
    with open(path, "w") as f:
        f.write(new)


def drop_comment_above(text, decl):
    """Removes the comment block that ends right above `decl`."""
    at = text.index(decl)
    start = text.rindex("/*", 0, at)
    check(text[start:at].rstrip().endswith("*/"), f"no comment right above {decl}")
    return text[:start] + text[at:]


def test_public_functions_documented(host):
    problems = checker().check()
    check(not problems, "\n".join(problems))


def test_check_catches_faults(host):
    with tempfile.TemporaryDirectory() as d:
        inc = os.path.join(d, "include")
        shutil.copytree(os.path.join(ROOT, "include"), inc)
        edit(os.path.join(inc, "wasio", "tcp.h"), lambda t: drop_comment_above(t, "int wasio_tcp_write("))
        edit(os.path.join(inc, "wasio", "udp.h"),
             lambda t: re.sub(r"(int wasio_udp_send\([^;]*;\n)", r"\1int wasio_udp_send_many(wasio_udp_t *udp);\n",
                              t, count=1))
        edit(os.path.join(inc, "wasio", "loop.h"),
             lambda t: t.replace("/* Makes wasio_loop_run return after the current turn. */",
                                 "/* Makes wasio_loop_run return after the current turn\n"
                                 " * (it sets wasio__stop). */", 1))
        edit(os.path.join(inc, "wasio", "tls.h"),
             lambda t: t.replace("#define WASIO_TLS_MAX_PINS 8",
                                 "#define WASIO_TLS_MAX_PINS 8 /* as\n * WASIO__PIN_SLOTS says */", 1))
        problems = checker().check(inc)
    check(any("tcp.h" in p and "wasio_tcp_write() has no comment" in p for p in problems),
          f"missed the undocumented wasio_tcp_write: {problems}")
    check(any("udp.h" in p and "wasio_udp_send_many() sits in the group of wasio_udp_send()" in p
              for p in problems), f"missed the function under another's comment: {problems}")
    check(any("loop.h" in p and "private name wasio__stop" in p for p in problems),
          f"missed wasio__stop in a comment: {problems}")
    check(any("tls.h" in p and "private name WASIO__PIN_SLOTS" in p for p in problems),
          f"missed WASIO__PIN_SLOTS in a comment begun on a #define line: {problems}")
    check(len(problems) == 4, f"expected exactly the 4 faults put in, got: {problems}")


if __name__ == "__main__":
    sys.exit(pydriver.main(globals()))
