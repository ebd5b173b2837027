#!/usr/bin/env python3
"""tests/tools/wasio_cc.py: tools/wasio-cc builds small components.

A test program in the harness protocol, run once (NAME.TEST@native): it
runs wasio-cc on examples/hello and inspects the output with wasm-tools.

Issue 9: wasio-fetch.wasm was 622 KB, of which 208 KB was DWARF debug info
from Debian's wasi-libc and 29 KB name sections. Components are stripped by
default now; --debug keeps debug info and names; --size prints both sizes.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import pydriver  # noqa: E402
from pydriver import Failure, check  # noqa: E402,F401
CC = os.path.join(ROOT, "tools", "wasio-cc")
RUNNER = pydriver.RUNNER
HELLO = os.path.join(ROOT, "examples", "hello", "hello.c")
WASIO_TOOLS = os.environ.get("WASIO_TOOLS", os.path.join(os.path.expanduser("~"), ".cache", "wasio"))
WASM_TOOLS = os.path.join(WASIO_TOOLS, "bin", "wasm-tools")


def build(out, *flags):
    p = subprocess.run([CC, *flags, "-o", out, HELLO], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=120)
    check(p.returncode == 0, f"wasio-cc {' '.join(flags)} failed: {p.stdout[-2000:]}")
    return p.stdout


def custom_sections(path):
    p = subprocess.run([WASM_TOOLS, "objdump", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    check(p.returncode == 0, f"wasm-tools objdump {path}: {p.stdout[-1000:]}")
    return re.findall(r'custom "([^"]+)"', p.stdout)


def runs(path):
    p = subprocess.run([RUNNER, "--timeout", "60", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=90)
    check(p.returncode == 0 and "hello from wasio" in p.stdout, f"{path} does not run: {p.stdout[-1000:]}")


def test_stripped_by_default(host):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "hello.wasm")
        msg = build(out, "--size")
        sections = custom_sections(out)
        check(not any(s.startswith(".debug") or s in ("name", "component-name") for s in sections),
              f"debug info or names left: {sorted(set(sections))}")
        m = re.search(r": (\d+) bytes \((\d+) with debug info and names", msg)
        check(m, f"--size printed no sizes: {msg!r}")
        size, full = int(m.group(1)), int(m.group(2))
        check(size == os.path.getsize(out), f"--size says {size}, the file has {os.path.getsize(out)}")
        check(size < full, f"stripping saved nothing ({size} vs {full})")
        runs(out)


def test_debug_keeps_names(host):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "hello.wasm")
        build(out, "--debug")
        sections = custom_sections(out)
        check("name" in sections and any(s.startswith(".debug_info") for s in sections),
              f"--debug lost debug info or names: {sorted(set(sections))}")
        runs(out)


if __name__ == "__main__":
    sys.exit(pydriver.main(globals()))
