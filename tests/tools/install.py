#!/usr/bin/env python3
"""tests/tools/install.py: `make install` and the pkg-config files, as a
user links against them.

A test program in the harness protocol (tests/pydriver.py), run once
(NAME.TEST@native). `make install PREFIX=TMP` copies what `make lib` built;
the installed tree is then moved elsewhere (every path in the .pc files is
relative to the file), and examples/hello is built from it:
  - natively: cc $(pkg-config --cflags --libs wasio-native) -> runs;
  - as a component: clang-19 with wasio.pc's cflags, libs and compiler,
    then wasm-tools component new (the libc speaks WASI 0.2: no adapter)
    -> runs on wasmtime.
The in-tree .pc files (build/*/lib/pkgconfig) are used the same way.
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import pydriver  # noqa: E402
from pydriver import check  # noqa: E402

HELLO = os.path.join(ROOT, "examples", "hello", "hello.c")
WASIO_TOOLS = os.environ.get("WASIO_TOOLS", os.path.join(os.path.expanduser("~"), ".cache", "wasio"))
WASM_TOOLS = os.path.join(WASIO_TOOLS, "bin", "wasm-tools")
WASMTIME = os.path.join(WASIO_TOOLS, "bin", "wasmtime")


def run(cmd, env=None, timeout=300):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                       env=env, errors="replace")
    check(p.returncode == 0, f"{' '.join(cmd)}: exit {p.returncode}\n{p.stdout[-2000:]}")
    return p.stdout


def pkg(pcdir, *args):
    env = dict(os.environ, PKG_CONFIG_PATH=pcdir)
    return run(["pkg-config", *args], env=env).split()


def build_and_run(pcdir, work):
    # natively
    exe = os.path.join(work, "hello-native")
    run(["cc", *pkg(pcdir, "--cflags", "wasio-native"), HELLO, *pkg(pcdir, "--libs", "wasio-native"), "-o", exe])
    out = run([exe], timeout=30)
    check("hello from wasio" in out and "tick 3" in out, f"native hello printed {out!r}")
    # as a component
    cc = pkg(pcdir, "--variable=cc", "wasio")[0]
    sysroot = pkg(pcdir, "--variable=sysroot", "wasio")[0]
    check(os.path.isfile(os.path.join(sysroot, "lib", "wasm32-wasip2", "libc.a")),
          f"wasio.pc's sysroot {sysroot} has no lib/wasm32-wasip2/libc.a")
    core, comp = os.path.join(work, "hello.core.wasm"), os.path.join(work, "hello.wasm")
    run([cc, *pkg(pcdir, "--cflags", "wasio"), "-O2", HELLO, *pkg(pcdir, "--libs", "wasio"), "-o", core])
    run([WASM_TOOLS, "component", "new", core, "-o", comp])
    out = run([WASMTIME, "run", comp], timeout=60)
    check("hello from wasio" in out and "tick 3" in out, f"component hello printed {out!r}")


def test_installed_tree_moves_and_links(host):
    with tempfile.TemporaryDirectory(prefix="wasio-install-") as d:
        prefix = os.path.join(d, "first")
        out = run(["make", "--no-print-directory", "-C", ROOT, "install", f"PREFIX={prefix}"], timeout=900)
        check(f"in {prefix}" in out, f"make install said: {out[-500:]}")
        for f in ("include/wasio.h", "include/wasio/http.h", "lib/libwasio.a", "lib/libwasio-mbedtls.a",
                  "lib/wasm32-wasip2/libwasio.a", "lib/wasm32-wasip2/crt1-wasio.o",
                  "lib/wasio/wasi-libc/lib/wasm32-wasip2/libc.a", "lib/wasio/wasi-libc/copyright",
                  "lib/pkgconfig/wasio.pc", "lib/pkgconfig/wasio-native.pc"):
            check(os.path.isfile(os.path.join(prefix, f)), f"make install did not write {f}")
        moved = os.path.join(d, "elsewhere")
        shutil.move(prefix, moved)
        for pc in ("wasio.pc", "wasio-native.pc"):
            with open(os.path.join(moved, "lib", "pkgconfig", pc)) as f:
                text = f.read()
            check(prefix not in text and ROOT not in text, f"{pc} holds an absolute path")
        build_and_run(os.path.join(moved, "lib", "pkgconfig"), d)


def test_in_tree_pc_files(host):
    pcdirs = os.pathsep.join([os.path.join(ROOT, "build", "wasm32", "lib", "pkgconfig"),
                              os.path.join(ROOT, "build", "native-release", "lib", "pkgconfig")])
    with tempfile.TemporaryDirectory(prefix="wasio-pc-") as d:
        build_and_run(pcdirs, d)


if __name__ == "__main__":
    sys.exit(pydriver.main(globals()))
