#!/usr/bin/env python3
"""bench/run.py: runs wasio's benchmarks and prints their tables (`make bench`).

Every figure printed is measured in this run; nothing is typed in. The same C
source (bench/NAME.c) runs three ways:
  native    build/native-release/bench/NAME  (posix backend, -O2, no sanitizers)
  wasmtime  build/wasm32/bench/NAME.wasm     through tools/wasio-run
  wasmtime-p3  build/wasm32/bench-p3/NAME.wasm  the same source built with wasio-cc --p3
            (the wasip3 backend: WASI 0.3, one waitable set), on wasmtime
  jco       the same component               through tools/wasio-run --host jco
Each run gets its own native echo peer (bench/helpers/peer.c: C, epoll,
127.0.0.1 only, bounded lifetime) whose port is passed as the first argument.

Tables:
  1. loop turn cost (bench/loop_turn.c): IDLE idle connections + 1 active echo
     connection, all with a read pending; 64-byte echo round trips after a
     warm-up, then bare non-blocking turns; wasio_loop_stats deltas and the
     median of 10 time slices. For each IDLE count every host runs in turn.
  2. echo throughput (bench/echo_tput.c): wasio writes a pattern to the peer
     and reads the echo back; MB/s (10^6 B/s of echoed payload), --reps runs
     per host interleaved, the median and the ratio to native's median from
     this same run.
Heap allocations in every measured span are printed as "wasio / wrapper":
wasio_loop_stats, and a malloc --wrap counter (bench/alloc_count.h). Both
must be 0; any that is not is listed at the end.

Every program has a time cap (--timeout of wasio-run, plus a kill here); a
run that hits it is reported as such, never dropped silently. A host whose
run at some idle count timed out is not asked for larger counts.

After table 1, each host's bare-turn cost at the largest idle count is
divided by its cost at the smallest (the goal for wasmtime-p3: at most 1.2x
from 1 to 10,000 idle connections).

Usage: bench/run.py [--hosts native,wasmtime,wasmtime-p3,jco] [--idle 1,100,1000,10000]
                    [--only turn|tput] [--reps N] [--quick]
"""
import argparse
import datetime
import os
import platform
import re
import resource
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
NATIVE_DIR = os.path.join(BUILD, "native-release", "bench")
WASM_DIR = os.path.join(BUILD, "wasm32", "bench")
P3_DIR = os.path.join(BUILD, "wasm32", "bench-p3")
PEER = os.path.join(NATIVE_DIR, "helpers", "peer")
RUNNER = os.path.join(ROOT, "tools", "wasio-run")
TOOLS = os.environ.get("WASIO_TOOLS", os.path.expanduser("~/.cache/wasio"))
HOSTS = ["native", "wasmtime", "wasmtime-p3", "jco"]
RESULT = re.compile(r"^RESULT (.*)$", re.M)
TEARDOWN_PROBLEMS = []


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def command(host, prog, args, timeout_s):
    if host == "native":
        return [os.path.join(NATIVE_DIR, prog)] + args
    if host == "wasmtime-p3":
        comp = os.path.join(P3_DIR, prog + ".wasm")
        return [RUNNER, "--host", "wasmtime", "--net", "--timeout", str(timeout_s), comp] + args
    comp = os.path.join(WASM_DIR, prog + ".wasm")
    return [RUNNER, "--host", host, "--net", "--timeout", str(timeout_s), comp] + args


def run_with_peer(host, prog, args, timeout_s):
    """Starts a fresh peer, runs prog with PORT + args on host. Returns
    (dict of RESULT fields or None, error text or None, wall seconds)."""
    peer = subprocess.Popen([PEER, "--lifetime", str(timeout_s + 30)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = peer.stdout.readline().strip()
        if not line.isdigit():
            return None, "peer did not print its port: " + peer.stderr.read()[:300], 0.0
        cmd = command(host, prog, [line] + [str(a) for a in args], timeout_s)
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=timeout_s + 15)
            out, err, rc = p.stdout, p.stderr, p.returncode
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            err, rc = "killed by bench/run.py", 124
        wall = time.monotonic() - t0
        m = RESULT.search(out)
        if m and rc != 0:
            # Measured and printed before the tear-down, which then failed
            # or hung: keep the figures, but say so at the end.
            TEARDOWN_PROBLEMS.append(f"{host} {prog} {' '.join(str(a) for a in args)}: "
                                     f"exit {rc} after printing its result")
        elif rc == 124:
            return None, f"timed out after {timeout_s}s", wall
        if not m:
            text = (out + err).strip().splitlines()
            why = next((l for l in text if l.startswith("ERROR")), None) or " | ".join(text[-3:])
            return None, f"exit {rc}: {why[:300]}", wall
        fields = dict(kv.split("=", 1) for kv in m.group(1).split())
        return fields, None, wall
    finally:
        peer.kill()
        peer.wait()


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for l in f:
                if l.startswith("model name"):
                    cpu = l.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return cpu


def version(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=30).stdout.strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "?"


def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    def fmt(cells):
        return "| " + " | ".join(str(c).rjust(w) for c, w in zip(cells, widths)) + " |"
    print(fmt(headers))
    print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    for r in rows:
        print(fmt(r))
    sys.stdout.flush()


def f1(x):
    return f"{float(x):,.1f}"


def f0(x):
    return f"{float(x):,.0f}"


def allocs(wasio_total, libc_total, turns, warnings, what):
    """One cell: heap allocations per turn as "wasio / libc" (wasio_loop_stats,
    and the --wrap count of bench/alloc_count.h). Anything but 0 is flagged."""
    w, l, t = int(wasio_total), int(libc_total), max(int(turns), 1)
    if w == 0 and l == 0:
        return "0 / 0"
    warnings.append(f"{what}: wasio counted {w}, the malloc wrapper {l} heap allocations "
                    f"over {turns} turns in steady state")
    return f"{w / t:.3g} / {l / t:.3g} !"


def bench_turn(hosts, idles, a, warnings):
    print("\n## 1. Loop turn cost: N idle TCP connections + 1 active echo connection\n")
    print(f"64-byte echo round trips for {a.measure_ms} ms after {a.warmup_ms} ms of warm-up, "
          f"then {a.idle_ms} ms of bare WASIO_RUN_NOWAIT turns.\n"
          "Every connection has a read pending (so it is in every wait).\n"
          "RTT: one write of 64 bytes to the native peer and the read of its echo, through the loop;\n"
          "ns/turn (echo) is the measured span over its turns, blocking waits included;\n"
          "ns/turn (bare) is a turn with nothing ready (one non-blocking wait over every connection).\n"
          "med: the median of 10 equal time slices of the span; mean: the whole span.\n"
          "allocs/turn: heap allocations per turn over the span, as counted by wasio_loop_stats /\n"
          "by a malloc wrapper linked into the program (bench/alloc_count.h); must be 0 / 0.\n"
          "pollables/poll: wasio_loop_stats pollables over polls in the echo span (0 natively: epoll).\n"
          "Runs are interleaved (for each count: every host) so that a busy spell of the machine\n"
          "does not fall on one host only.\n")
    headers = ["host", "idle conns", "RTT us med / mean", "turns/RTT", "ns/turn (echo)",
               "allocs/turn (echo)", "ns/turn (bare) med / mean", "allocs/turn (bare)",
               "pollables/poll", "set-up ms"]
    rows = {h: [] for h in hosts}
    bare_med = {h: {} for h in hosts}
    stop_reason = {h: None for h in hosts}
    for n in idles:
        for host in hosts:
            if stop_reason[host]:
                rows[host].append([host, f"{n:,}", stop_reason[host]] + [""] * (len(headers) - 3))
                continue
            timeout = a.turn_timeout + (a.jco_extra if host == "jco" else 0)
            r, err, wall = run_with_peer(host, "loop_turn",
                                         [n, a.warmup_ms, a.measure_ms, a.idle_ms, 64], timeout)
            if err:
                rows[host].append([host, f"{n:,}", err] + [""] * (len(headers) - 3))
                if "timed out" in err:
                    stop_reason[host] = f"not run ({n:,} timed out)"
                print(f"  [{host} idle={n}: {err}]", file=sys.stderr)
                continue
            bare_med[host][n] = float(r["ns_per_idle_turn_med"])
            rows[host].append([
                host, f"{n:,}",
                f"{f1(float(r['ns_per_rtt_med']) / 1000)} / {f1(float(r['ns_per_rtt']) / 1000)}",
                r["turns_per_rtt"],
                f0(r["ns_per_turn"]),
                allocs(r["allocs"], r["libc_allocs"], r["turns"], warnings,
                       f"{host} idle={n} echo"),
                f"{f0(r['ns_per_idle_turn_med'])} / {f0(r['ns_per_idle_turn'])}",
                allocs(r["idle_allocs"], r["idle_libc_allocs"], r["idle_turns"], warnings,
                       f"{host} idle={n} bare turns"),
                r["pollables_per_poll"], f1(r["connect_ms"])])
            print(f"  [{host} idle={n}: {wall:.1f}s wall; rtt={r['rtt']} turns={r['turns']} "
                  f"polls={r['polls']} idle_turns={r['idle_turns']} idle_polls={r['idle_polls']} "
                  f"set-up allocs wasio={r['setup_allocs']} malloc={r['setup_libc_allocs']}]",
                  file=sys.stderr)
    table(headers, [r for h in hosts for r in rows[h]])
    # The growth of a bare turn with the idle count, per host.
    if len(idles) > 1:
        print(f"\nBare turn at {idles[-1]:,} idle / at {idles[0]:,} idle (medians):")
        for host in hosts:
            got = bare_med.get(host, {})
            if idles[0] in got and idles[-1] in got and got[idles[0]] > 0:
                print(f"- {host}: {got[idles[-1]]:,.0f} / {got[idles[0]]:,.0f} ns = "
                      f"{got[idles[-1]] / got[idles[0]]:,.2f}x")
            else:
                print(f"- {host}: not measured at both counts")


def bench_tput(hosts, a, warnings):
    print("\n## 2. Echo throughput: wasio client -> native C echo peer -> wasio client\n")
    print(f"One connection; {a.warmup_mib} MiB warm-up, then up to {a.total_mib} MiB measured "
          f"(cap {a.tput_cap_ms} ms), 64 KiB writes, {a.window_kib} KiB window.\n"
          "MB/s = 10^6 bytes of payload echoed back per second (each byte is written and read "
          f"by wasio).\n{a.reps} runs per host, interleaved (host order rotates per round); "
          "the median run is shown with the range of all runs.\nRatio: median against native's "
          "median from this same invocation. allocs/turn: all runs' measured spans, wasio / malloc "
          "wrapper.\n")
    runs = {h: [] for h in hosts}
    errors = {}
    for rep in range(a.reps):
        order = hosts[rep % len(hosts):] + hosts[:rep % len(hosts)]
        for host in order:
            if host in errors:
                continue
            timeout = a.tput_timeout + (a.jco_extra if host == "jco" else 0)
            r, err, wall = run_with_peer(host, "echo_tput",
                                         [a.total_mib, a.warmup_mib, a.tput_cap_ms, a.window_kib],
                                         timeout)
            if err:
                errors[host] = err
                print(f"  [{host} run {rep + 1}: {err}]", file=sys.stderr)
                continue
            runs[host].append(r)
            print(f"  [{host} run {rep + 1}: {float(r['mb_per_s']):.1f} MB/s, {wall:.1f}s wall; "
                  f"turns={r['turns']} polls={r['polls']} allocs={r['allocs']}]", file=sys.stderr)

    def median(rs):
        return sorted(rs, key=lambda r: float(r["mb_per_s"]))[(len(rs) - 1) // 2]

    base = median(runs["native"]) if runs.get("native") else None
    headers = ["host", "MB/s (median)", "range", "vs native", "MiB measured", "seconds",
               "bytes/turn", "allocs/turn"]
    rows = []
    for host in hosts:
        if not runs[host]:
            rows.append([host, errors.get(host, "no run")] + [""] * (len(headers) - 2))
            continue
        r = median(runs[host])
        speeds = [float(x["mb_per_s"]) for x in runs[host]]
        ratio = (f"{float(r['mb_per_s']) / float(base['mb_per_s']):.2f}x"
                 if base and float(base["mb_per_s"]) > 0 else "n/a")
        capped = " (capped)" if r["capped"] == "1" else ""
        total_allocs = sum(int(x["allocs"]) for x in runs[host])
        total_libc = sum(int(x["libc_allocs"]) for x in runs[host])
        total_turns = sum(int(x["turns"]) for x in runs[host])
        note = f" ({errors[host]})" if host in errors else ""
        rows.append([host + note, f1(r["mb_per_s"]), f"{min(speeds):,.0f}-{max(speeds):,.0f}",
                     ratio, f"{int(r['bytes']) / 1048576:.1f}{capped}", r["seconds"],
                     f0(r["bytes_per_turn"]),
                     allocs(total_allocs, total_libc, total_turns, warnings,
                            f"{host} throughput (all runs)")])
    table(headers, rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", default=",".join(HOSTS))
    ap.add_argument("--idle", default="1,100,1000,10000")
    ap.add_argument("--only", choices=["turn", "tput"])
    ap.add_argument("--quick", action="store_true", help="shorter phases (smoke run)")
    ap.add_argument("--reps", type=int, default=3, help="throughput runs per host")
    a = ap.parse_args()
    hosts = [h for h in a.hosts.split(",") if h]
    for h in hosts:
        if h not in HOSTS:
            ap.error(f"unknown host {h}")
    idles = [int(x) for x in a.idle.split(",") if x]
    a.warmup_ms, a.measure_ms, a.idle_ms = (100, 400, 100) if a.quick else (300, 1500, 300)
    a.turn_timeout, a.jco_extra = 60, 30
    a.total_mib, a.warmup_mib, a.tput_cap_ms = (64, 8, 1000) if a.quick else (1024, 64, 3000)
    a.window_kib, a.tput_timeout = 2048, 60

    missing = [p for p in [PEER] + [os.path.join(NATIVE_DIR, b) for b in ("loop_turn", "echo_tput")]
               + [os.path.join(WASM_DIR, b + ".wasm") for b in ("loop_turn", "echo_tput")]
               + ([os.path.join(P3_DIR, b + ".wasm") for b in ("loop_turn", "echo_tput")]
                  if "wasmtime-p3" in hosts else [])
               if not os.path.exists(p)]
    if missing:
        print("bench/run.py: missing " + ", ".join(missing) + " (run: make bench)", file=sys.stderr)
        return 2
    nofile = raise_nofile()
    need = max(idles) + 64 if idles else 0
    if a.only != "tput" and nofile < need:
        print(f"bench/run.py: RLIMIT_NOFILE is {nofile}, {need} needed for {max(idles)} "
              "idle connections", file=sys.stderr)
        return 2

    t0 = time.monotonic()
    print("# wasio benchmarks")
    print(f"\n{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; "
          f"{platform.node()}: {os.cpu_count()} CPUs ({machine()}), Linux {platform.release()}")
    print(f"wasmtime: {version([os.path.join(TOOLS, 'bin', 'wasmtime'), '--version'])}; "
          f"node: {version(['node', '--version'])}; "
          f"jco: {version(['node', os.path.join(ROOT, 'tools/jco/node_modules/@bytecodealliance/jco/dist/jco.js'), '--version'])}")
    print(f"Load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("Command: make bench  (python3 bench/run.py " + " ".join(sys.argv[1:]) + ")")
    warnings = []
    if a.only != "tput":
        bench_turn(hosts, idles, a, warnings)
    if a.only != "turn":
        bench_tput(hosts, a, warnings)
    print(f"\nTotal time: {time.monotonic() - t0:.0f} s")
    if TEARDOWN_PROBLEMS:
        print("\nRuns that failed or timed out after their result was printed (tear-down):")
        for p in TEARDOWN_PROBLEMS:
            print("  " + p)
    if warnings:
        print("\nNON-ZERO STEADY-STATE ALLOCATIONS (a library bug, see issue 3):")
        for w in warnings:
            print("  " + w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
