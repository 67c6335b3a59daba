"""swheap overhead suite (run through scripts/bench).

Workloads x configurations, interleaved: every round runs each configuration once per
workload, in an order rotated by one each round. For each run: cpu time (user + sys of the
child and everything it waited for, from wait4's rusage), wall time and peak RSS (maxrss).
Ratios are taken against the baseline of the same round; the tables show medians.
Also: callgrind instruction counts per malloc/free pair on mtbench, and the dump-latency
figure (bench/dumplat.c). Results go to stdout as Markdown and to <out>/results.json.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
CC = os.environ.get("CC", "cc")
LIB = None

CONFIGS = {
    # name: (kind, extra environment)
    "baseline": ("plain", {}),
    "swheap 512K": ("swheap", {"SWHEAP_RATE": "524288"}),
    "swheap 64K": ("swheap", {"SWHEAP_RATE": "65536"}),
    "swheap 4K": ("swheap", {"SWHEAP_RATE": "4096"}),
    "swheap 1": ("swheap", {"SWHEAP_RATE": "1"}),
    "swheap 1 fp": ("swheap", {"SWHEAP_RATE": "1", "SWHEAP_UNWIND": "fp"}),
    "heaptrack": ("heaptrack", {}),
    # Not run by default (pick with --configs): attribute the 512K cost.
    "512K no dump thread": ("swheap", {"SWHEAP_RATE": "524288", "SWHEAP_INTERVAL": "0"}),
    "512K no dump thread, no exit scan": ("swheap", {"SWHEAP_RATE": "524288", "SWHEAP_INTERVAL": "0",
                                                     "SWHEAP_SCAN": "0"}),
}
DEFAULT_CONFIGS = ["baseline", "swheap 512K", "swheap 64K", "swheap 4K", "swheap 1", "swheap 1 fp", "heaptrack"]


def sha1(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def real_python():
    """The interpreter binary itself (pyenv and friends put shell scripts on PATH)."""
    exe = subprocess.run(["python3", "-c", "import sys; print(sys.executable)"], capture_output=True,
                         text=True, check=True).stdout.strip()
    exe = os.path.realpath(exe)
    with open(exe, "rb") as f:
        if f.read(4) != b"\x7fELF":
            sys.exit(f"bench: {exe} is not an ELF binary")
    return exe


def toolchain_clang():
    """clang++ of the Swift toolchain whose `swift` is on PATH (symlinks resolved)."""
    swift = shutil.which("swift")
    if not swift:
        sys.exit("bench: no swift on PATH, whose toolchain's clang++ is a workload (or set BENCH_CLANG)")
    return os.path.join(os.path.dirname(os.path.realpath(swift)), "clang++")


def compile_c(src, out, extra=()):
    cmd = [CC, "-std=gnu11", "-O2", "-g", "-fno-omit-frame-pointer", "-pthread", *extra, src, "-o", out]
    subprocess.run(cmd, check=True)
    return out


def workloads(tmp, quick):
    mt = compile_c(os.path.join(BENCH, "mtbench.c"), os.path.join(tmp, "mtbench"))
    py = real_python()
    clang = os.environ.get("BENCH_CLANG") or toolchain_clang()
    return {
        "mtbench": {"argv": [mt, "15000000"], "note": "bench/mtbench.c, 2 threads x 15M malloc/free pairs"},
        "clang++ -O2": {"argv": [clang, "-std=c++17", "-O2", "-c", os.path.join(BENCH, "templates.cpp"),
                                 "-o", os.path.join(tmp, "templates.o")],
                        "note": "Swift toolchain clang++ -O2 -c bench/templates.cpp"},
        "python json/re": {"argv": [py, os.path.join(BENCH, "churn.py"), "40"], "env": {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0"},
                           "note": f"{py} bench/churn.py, PYTHONMALLOC=malloc PYTHONHASHSEED=0"},
        "sqlite3": {"argv": [shutil.which("sqlite3") or sys.exit("bench: no sqlite3 on PATH"), ":memory:"],
                    "stdin": os.path.join(BENCH, "sqlite.sql"), "note": "sqlite3 :memory: < bench/sqlite.sql"},
    }


def run_once(wl, config, lib, tmp):
    kind, extra = CONFIGS[config]
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("SWHEAP_") or k == "LD_PRELOAD":
            del env[k]
    env.update(wl.get("env", {}))
    argv = list(wl["argv"])
    outdir = tempfile.mkdtemp(prefix="run.", dir=tmp)
    if kind == "swheap":
        env["LD_PRELOAD"] = lib
        env["SWHEAP_DIR"] = os.path.join(outdir, "swheap")
        env.update(extra)
    elif kind == "heaptrack":
        argv = ["heaptrack", "-o", os.path.join(outdir, "heaptrack"), *argv]
    stdin = open(wl["stdin"], "rb") if "stdin" in wl else subprocess.DEVNULL
    err = open(os.path.join(outdir, "stderr"), "wb+")
    t0 = time.monotonic()
    p = subprocess.Popen(argv, env=env, stdin=stdin, stdout=subprocess.DEVNULL, stderr=err, cwd=outdir)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if stdin is not subprocess.DEVNULL:
        stdin.close()
    err.seek(0)
    errtext = err.read().decode(errors="replace")
    err.close()
    if p.returncode != 0 or "swheap:" in errtext:
        log(f"bench: {config} on {' '.join(argv[:3])} exited {p.returncode}: {errtext[-3000:]}")
        if p.returncode != 0:
            sys.exit(1)
    out_bytes = 0
    for d, _, files in os.walk(outdir):
        out_bytes += sum(os.path.getsize(os.path.join(d, f)) for f in files if f != "stderr")
    shutil.rmtree(outdir, ignore_errors=True)
    return {"cpu": ru.ru_utime + ru.ru_stime, "user": ru.ru_utime, "sys": ru.ru_stime, "wall": wall,
            "maxrss_kb": ru.ru_maxrss, "output_bytes": out_bytes}


def timing(args, lib, tmp):
    wls = workloads(tmp, args.quick)
    names = [w for w in wls if not args.workloads or w in args.workloads]
    if args.configs and any(c not in CONFIGS for c in args.configs):
        sys.exit(f"bench: unknown configuration; known: {', '.join(CONFIGS)}")
    configs = [c for c in CONFIGS if c == "baseline" or (c in args.configs if args.configs else c in DEFAULT_CONFIGS)]
    results = {w: {c: [] for c in configs} for w in names}
    for r in range(args.rounds):
        order = configs[r % len(configs):] + configs[:r % len(configs)]
        for w in names:
            for c in order:
                m = run_once(wls[w], c, lib, tmp)
                m["round"] = r
                results[w][c].append(m)
                log(f"round {r + 1}/{args.rounds} {w:15} {c:12} cpu {m['cpu']:7.2f}s wall {m['wall']:7.2f}s "
                    f"rss {m['maxrss_kb'] / 1024:7.1f} MiB")
    return {w: wls[w]["note"] for w in names}, configs, results


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def summarise(notes, configs, results):
    rows = {}
    for w, by in results.items():
        base = {m["round"]: m for m in by["baseline"]}
        for c in configs:
            ms = by[c]
            rows[(w, c)] = {
                "cpu_s": med([m["cpu"] for m in ms]),
                "wall_s": med([m["wall"] for m in ms]),
                "cpu_ratio": med([m["cpu"] / base[m["round"]]["cpu"] for m in ms]),
                "cpu_ratio_min": min(m["cpu"] / base[m["round"]]["cpu"] for m in ms),
                "cpu_ratio_max": max(m["cpu"] / base[m["round"]]["cpu"] for m in ms),
                "wall_ratio": med([m["wall"] / base[m["round"]]["wall"] for m in ms]),
                "rss_mib": med([m["maxrss_kb"] for m in ms]) / 1024,
                "rss_over_mib": med([(m["maxrss_kb"] - base[m["round"]]["maxrss_kb"]) for m in ms]) / 1024,
                "output_mib": med([m["output_bytes"] for m in ms]) / 2**20,
                "runs": len(ms),
            }
    return rows


def tables(notes, configs, rows, rounds):
    out = []
    out.append("### CPU-time ratio against the baseline (median of per-round ratios; min-max in brackets)\n")
    out.append("| workload | baseline cpu s | " + " | ".join(c for c in configs if c != "baseline") + " |")
    out.append("|---|---:|" + "---:|" * (len(configs) - 1))
    for w in notes:
        cells = []
        for c in configs:
            if c == "baseline":
                continue
            r = rows[(w, c)]
            cell = f"{r['cpu_ratio']:.3f}x"
            if rounds > 1:
                cell += f" [{r['cpu_ratio_min']:.2f}-{r['cpu_ratio_max']:.2f}]"
            cells.append(cell)
        out.append(f"| {w} | {rows[(w, 'baseline')]['cpu_s']:.2f} | " + " | ".join(cells) + " |")
    out.append("\n### Wall-time ratio (median of per-round ratios)\n")
    out.append("| workload | baseline wall s | " + " | ".join(c for c in configs if c != "baseline") + " |")
    out.append("|---|---:|" + "---:|" * (len(configs) - 1))
    for w in notes:
        cells = [f"{rows[(w, c)]['wall_ratio']:.3f}x" for c in configs if c != "baseline"]
        out.append(f"| {w} | {rows[(w, 'baseline')]['wall_s']:.2f} | " + " | ".join(cells) + " |")
    out.append("\n### Peak RSS in MiB (median; in brackets: median excess over the same round's baseline)\n")
    out.append("| workload | baseline | " + " | ".join(c for c in configs if c != "baseline") + " |")
    out.append("|---|---:|" + "---:|" * (len(configs) - 1))
    for w in notes:
        cells = [f"{rows[(w, c)]['rss_mib']:.1f} (+{rows[(w, c)]['rss_over_mib']:.1f})" for c in configs if c != "baseline"]
        out.append(f"| {w} | {rows[(w, 'baseline')]['rss_mib']:.1f} | " + " | ".join(cells) + " |")
    out.append("\n### Output written (MiB, median)\n")
    out.append("| workload | " + " | ".join(c for c in configs if c != "baseline") + " |")
    out.append("|---|" + "---:|" * (len(configs) - 1))
    for w in notes:
        out.append(f"| {w} | " + " | ".join(f"{rows[(w, c)]['output_mib']:.1f}" for c in configs if c != "baseline") + " |")
    out.append("\n### Targets\n")
    out.append("| workload | target | measured | met |")
    out.append("|---|---|---|---|")
    for w in notes:
        if "swheap 512K" in configs:
            limit = 1.05 if w == "mtbench" else 1.02
            r = rows[(w, "swheap 512K")]["cpu_ratio"]
            out.append(f"| {w} | cpu at 512K <= {limit:.2f}x | {r:.3f}x | {'yes' if r <= limit else 'NO'} |")
            base_rss = rows[(w, "baseline")]["rss_mib"]
            allowed = base_rss * 0.05 + 16
            over = rows[(w, "swheap 512K")]["rss_over_mib"]
            out.append(f"| {w} | RSS at 512K <= base + 5% + 16 MiB (+{allowed:.1f}) | +{over:.1f} MiB | "
                       f"{'yes' if over <= allowed else 'NO'} |")
        if "heaptrack" in configs:
            for c in ("swheap 1", "swheap 1 fp"):
                if c in configs:
                    a, b = rows[(w, c)]["cpu_ratio"], rows[(w, "heaptrack")]["cpu_ratio"]
                    out.append(f"| {w} | {c} cpu < heaptrack cpu | {a:.2f}x vs {b:.2f}x | {'yes' if a < b else 'NO'} |")
    return "\n".join(out)


def parse_callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


# No periodic dumps (SWHEAP_INTERVAL=0): how many a run writes under callgrind depends on the
# machine's speed, and the per-pair count is to be exact.
CG_CONFIGS = (("baseline", None), ("swheap 512K", {"SWHEAP_RATE": "524288", "SWHEAP_INTERVAL": "0"}),
              ("swheap 64K", {"SWHEAP_RATE": "65536", "SWHEAP_INTERVAL": "0"}),
              ("swheap 4K", {"SWHEAP_RATE": "4096", "SWHEAP_INTERVAL": "0"}),
              ("swheap 1", {"SWHEAP_RATE": "1", "SWHEAP_INTERVAL": "0"}),
              ("swheap 1 fp", {"SWHEAP_RATE": "1", "SWHEAP_UNWIND": "fp", "SWHEAP_INTERVAL": "0"}))


def callgrind_run(tmp, argv, env, stdin=None, extra_env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("SWHEAP_") and k != "LD_PRELOAD"}
    e.update(extra_env or {})
    d = tempfile.mkdtemp(prefix="cg.", dir=tmp)
    if env:
        e.update(env, LD_PRELOAD=LIB, SWHEAP_DIR=os.path.join(d, "swheap"))
    out = os.path.join(d, "callgrind.out")
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as inp:
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv], env=e, stdin=inp,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=d)
    total = parse_callgrind_total(out)
    shutil.rmtree(d, ignore_errors=True)
    return total


PROGRAM_CG_CONFIGS = (("swheap 512K", {"SWHEAP_RATE": "524288"}),
                      ("512K, no dump thread", {"SWHEAP_RATE": "524288", "SWHEAP_INTERVAL": "0"}),
                      ("512K, no dump thread, no exit scan",
                       {"SWHEAP_RATE": "524288", "SWHEAP_INTERVAL": "0", "SWHEAP_SCAN": "0"}))


def callgrind(tmp, lib, iters, programs):
    """Instructions per malloc/free pair on mtbench in its single-thread mode (exactly
    repeatable: no interleaving), marginal: run with N and 2N iterations and divide the
    difference by the N extra pairs, so start-up and the exit dump cancel out. Then
    whole-program instruction ratios for the real programs, with the dump thread and the
    exit scan switched off one by one to attribute the cost."""
    mt = os.path.join(tmp, "mtbench")
    if not os.path.exists(mt):
        compile_c(os.path.join(BENCH, "mtbench.c"), mt)
    res = {}
    for name, env in CG_CONFIGS:
        small = callgrind_run(tmp, [mt, str(iters), "1"], env)
        large = callgrind_run(tmp, [mt, str(2 * iters), "1"], env)
        res[name] = {"n": small, "2n": large, "per_pair": (large - small) / iters}
        log(f"callgrind mtbench {name}: {res[name]}")
    base = res["baseline"]["per_pair"]
    lines = ["| configuration | instructions per malloc/free pair | added by the profiler |", "|---|---:|---:|"]
    for name, r in res.items():
        lines.append(f"| {name} | {r['per_pair']:.1f} | {r['per_pair'] - base:+.1f} |")
    text = (f"mtbench single-thread mode, marginal cost: (Ir(2N) - Ir(N)) / N with N = {iters} "
            "(start-up and exit dump cancel out; the baseline includes mtbench's own loop)\n\n" + "\n".join(lines))
    if programs:
        head = "| program | baseline instructions | " + " | ".join(n for n, _ in PROGRAM_CG_CONFIGS) + " |"
        rows = [head, "|---|---:|" + "---:|" * len(PROGRAM_CG_CONFIGS)]
        for w, wl in programs.items():
            b = callgrind_run(tmp, wl["argv"], None, wl.get("stdin"), wl.get("env"))
            res[w] = {"baseline": b}
            cells = []
            for n, env in PROGRAM_CG_CONFIGS:
                v = callgrind_run(tmp, wl["argv"], env, wl.get("stdin"), wl.get("env"))
                res[w][n] = v
                cells.append(f"{v / b:.4f}x")
            rows.append(f"| {w} | {b:,} | " + " | ".join(cells) + " |")
            log(f"callgrind {w}: {res[w]}")
        text += ("\n\nWhole-program instruction ratios against the baseline (callgrind; deterministic, so this is "
                 "the noise-free view of the 1.02x target; SWHEAP_INTERVAL=0 means no background dump thread, "
                 "SWHEAP_SCAN=0 no exit scan)\n\n" + "\n".join(rows))
    return res, text


def dumplat(tmp, lib, seconds):
    exe = compile_c(os.path.join(BENCH, "dumplat.c"), os.path.join(tmp, "dumplat"),
                    ["-O1", "-fno-optimize-sibling-calls"])
    res = {}
    for name, period in (("no dumps (control)", "0"), ("dump every 200 ms", "200")):
        d = os.path.join(tmp, "dumplat.swheap")
        shutil.rmtree(d, ignore_errors=True)
        e = {k: v for k, v in os.environ.items() if not k.startswith("SWHEAP_") and k != "LD_PRELOAD"}
        e.update(LD_PRELOAD=lib, SWHEAP_DIR=d, SWHEAP_RATE="1", SWHEAP_INTERVAL="0", SWHEAP_SIGNAL="12")
        out = subprocess.run([exe, str(seconds), period], env=e, capture_output=True, text=True, check=True).stdout
        fields = dict(kv.split("=") for kv in out.split(":", 1)[1].split())
        files = [f for f in os.listdir(d) if f.endswith(".swheap")] if os.path.isdir(d) else []
        fields["dumps_written"] = len(files)
        fields["dump_mib"] = max([os.path.getsize(os.path.join(d, f)) for f in files] or [0]) / 2**20
        # Format v2: the stacks are in the stack log, written once; an epoch file holds cohorts.
        logs = [f for f in os.listdir(d) if f.endswith(".log")] if os.path.isdir(d) else []
        fields["log_mib"] = sum(os.path.getsize(os.path.join(d, f)) for f in logs) / 2**20
        res[name] = fields
        shutil.rmtree(d, ignore_errors=True)
        log(f"dumplat {name}: {out.strip()}")
    lines = ["| run | stacks | dumps written | largest epoch file MiB | stack log MiB | mallocs timed | p50 ns | p99 ns | p99.9 ns | max ms | > 100 us | > 1 ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, f in res.items():
        lines.append(f"| {name} | {f['stacks_created']} | {f['dumps_written']} | {f['dump_mib']:.2f} | {f['log_mib']:.1f} | {f['mallocs']} | "
                     f"{f['p50_ns']} | {f['p99_ns']} | {f['p999_ns']} | {int(f['max_ns']) / 1e6:.2f} | "
                     f"{f['over_100us']} | {f['over_1ms']} |")
    return res, "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(prog="scripts/bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke check: 1 round, short dump-latency run, small callgrind")
    ap.add_argument("--rounds", type=int, help="rounds of interleaved runs (default 5, --quick 1)")
    ap.add_argument("--workloads", nargs="*", help="subset of: mtbench, 'clang++ -O2', 'python json/re', sqlite3")
    ap.add_argument("--configs", nargs="*", help="configurations besides the baseline (default: " + ", ".join(DEFAULT_CONFIGS[1:]) +
                    "; also available: " + ", ".join(c for c in CONFIGS if c not in DEFAULT_CONFIGS) + ")")
    ap.add_argument("--no-timing", action="store_true", help="skip the timing rounds")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--no-dumplat", action="store_true")
    ap.add_argument("--callgrind-iters", type=int, help="mtbench iterations under callgrind (single thread; default 200000, --quick 20000)")
    ap.add_argument("--out", help="directory for results.json and the Markdown report (default: a temp dir)")
    ap.add_argument("--lib", default=os.environ.get("SWHEAP_LIB", os.path.join(ROOT, ".build/release/libswheap.so")))
    args = ap.parse_args()
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if not os.path.exists(args.lib):
        log("bench: building the shim (scripts/build)")
        subprocess.run([os.path.join(ROOT, "scripts/build")], check=True)
    tmp = tempfile.mkdtemp(prefix="swheap-bench.")
    # Run a private copy: a concurrent scripts/build replacing the library while a run loads it
    # killed one run with SIGBUS on this shared machine.
    lib = os.path.join(tmp, "libswheap.so")
    shutil.copy2(os.path.abspath(args.lib), lib)
    global LIB
    LIB = lib
    out_dir = args.out or tmp
    os.makedirs(out_dir, exist_ok=True)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    header = [
        f"- command: `{shlex.join(['scripts/bench', *sys.argv[1:]])}`",
        f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}, commit {commit}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cpus, {platform.release()}, load average at start "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- shim: copy of {os.path.abspath(args.lib)} (sha1 {sha1(lib)[:12]})",
    ]
    report = ["## swheap benchmark run", "", *header, ""]
    data = {"header": header}
    try:
        if not args.no_timing:
            notes, configs, results = timing(args, lib, tmp)
            rows = summarise(notes, configs, results)
            report += ["Workloads:", ""] + [f"- {w}: {n}" for w, n in notes.items()] + [""]
            report.append(f"{args.rounds} round(s), each running every configuration once per workload, order rotated.\n")
            report.append(tables(notes, configs, rows, args.rounds))
            data["runs"] = results
            data["summary"] = {f"{w} | {c}": v for (w, c), v in rows.items()}
        if not args.no_callgrind:
            iters = args.callgrind_iters or (20000 if args.quick else 200000)
            wls = workloads(tmp, args.quick)
            # Whole programs under callgrind (minutes each): those of sqlite3 and CPython that --workloads selects.
            programs = {} if args.quick else {w: wls[w] for w in ("sqlite3", "python json/re")
                                              if not args.workloads or w in args.workloads}
            cg, text = callgrind(tmp, lib, iters, programs)
            report += ["", "### Instructions per malloc/free pair (callgrind, mtbench)", "", text]
            data["callgrind"] = cg
        if not args.no_dumplat:
            dl, text = dumplat(tmp, lib, 1 if args.quick else 3)
            report += ["", "### Dump latency (bench/dumplat.c, SWHEAP_RATE=1, 103,823 stacks)", "", text]
            data["dumplat"] = dl
    finally:
        with open(os.path.join(out_dir, "results.json"), "w") as f:
            json.dump(data, f, indent=1, default=str)
        text = "\n".join(report) + "\n"
        with open(os.path.join(out_dir, "report.md"), "w") as f:
            f.write(text)
        print(text)
        log(f"bench: results in {out_dir}")
        if out_dir != tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
