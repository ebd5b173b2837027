#!/usr/bin/env python3
"""tests/tools/layers.py: src/ includes only the same or lower layers.

A test program in the harness protocol (tests/pydriver.py), run once
(NAME.TEST@native). tools/check-layers reads every #include of src/; the
test runs it on the tree, and on a copy with an upward include put in
(a codec that includes the core, as src/codec/addr.c once did; the core,
the TLS engine and the stream layer including a layer above them), which it
must catch.
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
    path = os.path.join(ROOT, "tools", "check-layers")
    loader = importlib.machinery.SourceFileLoader("check_layers", path)
    mod = importlib.util.module_from_spec(importlib.util.spec_from_loader("check_layers", loader))
    loader.exec_module(mod)
    return mod


def test_src_includes_point_down(host):
    problems = checker().check()
    check(not problems, "\n".join(problems))


def test_check_catches_an_upward_include(host):
    # (file under src/, the line appended to it): each is a layer break.
    breaks = [
        ("codec/addr.c", '#include "internal.h"'),
        ("core/loop.c", '#include "stream/stream.h"'),
        ("tls/engine.c", '#include "stream/stream.h"'),
        ("stream/stream.c", '#include "http/server_internal.h"'),
        ("http/client.c", '#include "imports.h"'),
        ("http/server.c", '#include "bridge/bridge_internal.h"'),
        ("bridge/hiredis.c", '#include "internal.h"'),
    ]
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "src")
        shutil.copytree(os.path.join(ROOT, "src"), src)
        with open(os.path.join(src, "bridge", "bridge_internal.h"), "w") as f:
            f.write('/* a bridge header */\n')
        for path, line in breaks:
            with open(os.path.join(src, path), "a") as f:
                f.write("\n" + line + "\n")
        problems = checker().check(src)
    check(any("codec/addr.c" in p and "codec -> core" in p for p in problems), f"missed codec -> core: {problems}")
    check(any("core/loop.c" in p and "core -> stream" in p for p in problems), f"missed core -> stream: {problems}")
    check(any("tls/engine.c" in p and "tls -> stream" in p for p in problems), f"missed tls -> stream: {problems}")
    check(any("stream/stream.c" in p and "stream -> http" in p for p in problems), f"missed stream -> http: {problems}")
    check(any("http/client.c" in p and "imports.h" in p for p in problems),
          f"missed the wasip2 bindings included outside the backend: {problems}")
    check(any("http/server.c" in p and "http -> bridge" in p for p in problems), f"missed http -> bridge: {problems}")
    check(any("bridge/hiredis.c" in p and "only public headers" in p for p in problems),
          f"missed a bridge including a private header of a lower layer: {problems}")


if __name__ == "__main__":
    sys.exit(pydriver.main(globals()))
