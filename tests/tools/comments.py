#!/usr/bin/env python3
"""tests/tools/comments.py: the comments of src/ and include/ name only
files and wasio names that exist, and no commit hash (issue 10: stale
comments after the refactors).

A test program in the harness protocol (tests/pydriver.py), run once
(NAME.TEST@native). tools/check-comments reads every comment of src/ and
include/; the test runs it on the tree, and on a copy with the stale
comments the refactors really left put back: the file
src/http/client_transport.h named after it was gone, the private
WASIO__TCP_END_SEND_TIMEOUT_NS that tls_host.h cited after it was
renamed, and the commit hash src/tls/engine.c cited for a figure.
"""
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import pydriver  # noqa: E402
from pydriver import check  # noqa: E402


def checker():
    path = os.path.join(ROOT, "tools", "check-comments")
    loader = importlib.machinery.SourceFileLoader("check_comments", path)
    mod = importlib.util.module_from_spec(importlib.util.spec_from_loader("check_comments", loader))
    loader.exec_module(mod)
    return mod


def test_comments_name_what_exists(host):
    problems = checker().check()
    check(not problems, "\n".join(problems))


def test_check_catches_stale_comments(host):
    mod = checker()
    files = mod.tree_files(ROOT)
    with tempfile.TemporaryDirectory() as d:
        for top in ("src", "include"):
            shutil.copytree(os.path.join(ROOT, top), os.path.join(d, top))
        with open(os.path.join(d, "src", "http", "client_conn.c"), "a") as f:
            f.write("\n/* The transport's upcalls (src/http/client_transport.h). */\n")
        with open(os.path.join(d, "include", "wasio", "tls_host.h"), "a") as f:
            f.write("\n/* Bounded by WASIO__TCP_END_SEND_TIMEOUT_NS of the wasip2 backend. */\n")
        with open(os.path.join(d, "src", "tls", "engine.c"), "a") as f:
            f.write("\n/* 153 MB/s against 53 (`make bench-tls` at 88727d2). */\n")
        problems = mod.check(d, files=files)
    check(any("client_conn.c" in p and "src/http/client_transport.h" in p for p in problems),
          f"missed the gone file: {problems}")
    check(any("tls_host.h" in p and "WASIO__TCP_END_SEND_TIMEOUT_NS" in p for p in problems),
          f"missed the gone name: {problems}")
    check(any("engine.c" in p and "88727d2" in p for p in problems), f"missed the commit hash: {problems}")
    check(len(problems) == 3, f"expected exactly the 3 stale comments put in, got: {problems}")


if __name__ == "__main__":
    sys.exit(pydriver.main(globals()))
