"""tests/pydriver.py: the harness protocol (tests/harness.h) for Python test
drivers that need nothing more than named test functions:

    NAME.py --host HOST --list        the test names, one per line
    NAME.py --host HOST [k=v...] [TEST...]   runs them (all by default)

Each test is a function test_NAME(host) that raises Failure (use check())
to fail; it prints "PASS name (ms)" or "FAIL name: why" and the program
exits 1 if any failed. tests/run.py runs such drivers like the C programs.
"""
import sys
import time


class Failure(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failure(why)


def main(namespace):
    """Runs the test_* functions of `namespace` (a module's globals())."""
    tests = {name[5:]: fn for name, fn in sorted(namespace.items()) if name.startswith("test_")}
    args = sys.argv[1:]
    host = "native"
    if "--host" in args:
        i = args.index("--host")
        host = args[i + 1]
        del args[i:i + 2]
    if args == ["--list"]:
        print("\n".join(tests))
        return 0
    names = [a for a in args if "=" not in a] or list(tests)
    failed = 0
    for n in names:
        t0 = time.time()
        try:
            tests[n](host)
            print(f"PASS {n} ({(time.time() - t0) * 1000:.1f} ms)", flush=True)
        except Failure as e:
            print(f"FAIL {n}: {e}", flush=True)
            failed += 1
    return 1 if failed else 0
