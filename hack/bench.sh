#!/bin/bash
# Benchmark corten against runc and crun, side by side, in one run
# (see shared docs PERF.md for what is measured and why).
#
#   hack/bench.sh [-n N] [--seq M] [--par P] [--runtimes "corten runc crun"] [--json FILE]
#
#   -n N          samples per latency metric (default 20, env N)
#   --seq M       containers for the throughput rows (default 100, env SEQ)
#   --par P       concurrent `run`s for the parallel throughput row (default 2, env PAR)
#   --runtimes L  space-separated subset of: corten runc crun (env RUNTIMES)
#   --scale "A B" container counts for the scale rows (default "10 200", env SCALE)
#   --json FILE   also write the raw results as JSON
#
# corten is taken from $CORTEN, else target/x86_64-unknown-linux-gnu/release/corten. runc, crun and GNU time
# are installed from Debian if missing. A runtime that is missing or cannot run the
# bundle is skipped with a message. Every runtime gets its own --root in a temp dir
# and is invoked through the same wrapper, which hides the cgroup2 `unified` mount
# in a private mount namespace: crun 1.8.1 refuses hybrid cgroup hosts otherwise.
#
# Measured per runtime (medians, ms): `run` of `true`; create + start + delete -f
# (three processes); `exec true` into a running container, back to back and after
# 0.3 s idle (the kernel's cgroup migration lock costs most then); peak RSS of one `run`
# (/usr/bin/time %M, median of 3); binary size; wall time of M sequential `run`s
# and of M `run`s with P at a time. Plus the floor: the wrapper running /bin/true.
# Scale: for each count C of --scale, C `sleep` containers created and started
# one after another, then one `list`, a `state` of each, and a `delete -f` of
# each, timed per phase and per container (a cost per container that grows
# with C would be O(C^2) somewhere, in list or in the root directory); and
# the largest C again with 4 workers at once on the machine's cores.
# Samples are taken back to back: on a VM, a container started after an idle gap
# can take twice as long (CPU wake-up), so compare the ratios, not absolute times.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-20}
SEQ=${SEQ:-100}
PAR=${PAR:-2}
RUNTIMES=${RUNTIMES:-corten runc crun}
SCALE=${SCALE:-10 200}
json_out=""
while [ $# -gt 0 ]; do
	case "$1" in
	-n) N=$2; shift ;;
	--seq) SEQ=$2; shift ;;
	--par) PAR=$2; shift ;;
	--runtimes) RUNTIMES=$2; shift ;;
	--scale) SCALE=$2; shift ;;
	--json) json_out=$(realpath -m "$2"); shift ;;
	*) echo "usage: $0 [-n N] [--seq M] [--par P] [--runtimes LIST] [--scale \"A B\"] [--json FILE]" >&2; exit 2 ;;
	esac
	shift
done

log() { echo "bench: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
	log "must run as root"
	exit 1
fi

apt_install() {
	log "installing $*"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}
for rt in $RUNTIMES; do
	case "$rt" in
	runc | crun) command -v "$rt" >/dev/null || apt_install "$rt" || log "could not install $rt" ;;
	corten) ;;
	*) log "unknown runtime $rt"; exit 2 ;;
	esac
done
[ -x /usr/bin/time ] || apt_install time
command -v python3 >/dev/null || apt_install python3

# The rootfs is shared read-only by every container (root.readonly is true).
rootfs=${ROOTFS:-$repo_root/bundles/busybox/rootfs}
"$repo_root/hack/mkrootfs.sh" "$rootfs"
rootfs=$(realpath "$rootfs")

work=$(mktemp -d /tmp/corten-bench.XXXXXX)
export BENCH_WORK=$work

# Runtimes that exist, as name=path lines.
: >"$work/runtimes"
for rt in $RUNTIMES; do
	if [ "$rt" = corten ]; then
		path=${CORTEN:-$repo_root/target/x86_64-unknown-linux-gnu/release/corten}
	else
		path=$(command -v "$rt" || true)
	fi
	if [ -z "$path" ] || [ ! -x "$path" ]; then
		log "skipping $rt: no binary${path:+ at $path}"
		continue
	fi
	echo "$rt=$(realpath "$path")" >>"$work/runtimes"
done

wrap() {
	unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh "$@"
}

cleanup() {
	local name path root dir
	# Whatever is still in a runtime's root (state dirs are named by container id).
	while IFS='=' read -r name path; do
		root=$work/root-$name
		for dir in "$root"/*/; do
			[ -d "$dir" ] || continue
			wrap "$path" --root "$root" delete -f "$(basename "$dir")" >/dev/null 2>&1 || true
		done
	done <"$work/runtimes"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two bundles: `true` for run/create/start, `sleep` as the target of exec.
# crun 1.8.1 rejects ociVersion values not starting with "1.0", so all get 1.0.2-dev.
python3 - "$repo_root/bundles/busybox/config.json" "$rootfs" "$work" <<'EOF'
import json, os, sys
src, rootfs, work = sys.argv[1:]
for name, args in (("true", ["true"]), ("sleep", ["sleep", "3600"])):
    c = json.load(open(src))
    c["ociVersion"] = "1.0.2-dev"
    c["root"] = {"path": rootfs, "readonly": True}
    c["process"]["args"] = args
    c["process"]["terminal"] = False
    os.makedirs(f"{work}/bundle-{name}")
    json.dump(c, open(f"{work}/bundle-{name}/config.json", "w"), indent=1)
EOF

python3 - "$N" "$SEQ" "$PAR" "$json_out" "$SCALE" <<'EOF'
import concurrent.futures, json, os, signal, statistics, subprocess, sys, time

signal.signal(signal.SIGINT, lambda *_: sys.exit(130))

N, SEQ, PAR = (int(a) for a in sys.argv[1:4])
JSON_OUT = sys.argv[4]
SCALE = [int(c) for c in sys.argv[5].split()]
WORK = os.environ["BENCH_WORK"]
WRAP = ["unshare", "-m", "--propagation", "private", "sh", "-c",
        'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"', "sh"]
B_TRUE, B_SLEEP = f"{WORK}/bundle-true", f"{WORK}/bundle-sleep"
DEVNULL = subprocess.DEVNULL


class Runtime:
    def __init__(self, name, path):
        self.name, self.path = name, path
        self.root = f"{WORK}/root-{name}"
        self.log = open(f"{WORK}/log-{name}", "ab+")
        self.seq = 0

    def cmd(self, *args):
        return WRAP + [self.path, "--root", self.root, *args]

    def call(self, *args):
        return subprocess.call(self.cmd(*args), stdin=DEVNULL, stdout=DEVNULL, stderr=self.log)

    def new_id(self, what):
        self.seq += 1
        return f"bench-{os.getpid()}-{what}-{self.seq}"

    def log_tail(self):
        self.log.flush()
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").strip().splitlines()
        return "\n    ".join(lines[-5:]) or "(no output)"

    def cleanup(self, cid):
        self.call("delete", "-f", cid)

    # --- one sample of each metric; seconds, or None on failure -----------
    def run_once(self):
        cid = self.new_id("run")
        t0 = time.perf_counter()
        rc = self.call("run", "--bundle", B_TRUE, cid)
        dt = time.perf_counter() - t0
        if rc != 0:
            self.cleanup(cid)
            return None
        return dt

    def create_start_delete(self):
        cid = self.new_id("csd")
        t0 = time.perf_counter()
        ok = (self.call("create", "--bundle", B_TRUE, cid) == 0
              and self.call("start", cid) == 0
              and self.call("delete", "-f", cid) == 0)
        dt = time.perf_counter() - t0
        if not ok:
            self.cleanup(cid)
            return None
        return dt

    def exec_once(self, cid):
        t0 = time.perf_counter()
        rc = self.call("exec", cid, "true")
        dt = time.perf_counter() - t0
        return dt if rc == 0 else None

    def peak_rss_kb(self):
        cid = self.new_id("rss")
        out = f"{WORK}/rss-{self.name}"
        rc = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", out] + self.cmd("run", "--bundle", B_TRUE, cid),
                             stdin=DEVNULL, stdout=DEVNULL, stderr=self.log)
        if rc != 0:
            self.cleanup(cid)
            return None
        return int(open(out).read().split()[-1])


def floor_once():
    t0 = time.perf_counter()
    subprocess.call(WRAP + ["/bin/true"], stdin=DEVNULL, stdout=DEVNULL)
    return time.perf_counter() - t0


def median_ms(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) * 1000 if xs else None


runtimes = []
for line in open(f"{WORK}/runtimes"):
    name, path = line.strip().split("=", 1)
    rt = Runtime(name, path)
    if rt.run_once() is None:
        print(f"bench: skipping {name}: `run` of true failed:\n    {rt.log_tail()}", file=sys.stderr)
        continue
    runtimes.append(rt)
if not runtimes:
    sys.exit("bench: no runtime could run the bundle")

res = {rt.name: {} for rt in runtimes}
samples = {rt.name: {"run": [], "csd": [], "exec": [], "idle_exec": []} for rt in runtimes}
floor = []

# Latencies, interleaved so that drift hits every runtime alike.
print(f"bench: {N} samples each of run / create+start+delete", file=sys.stderr)
for _ in range(N):
    floor.append(floor_once())
    for rt in runtimes:
        samples[rt.name]["run"].append(rt.run_once())
        samples[rt.name]["csd"].append(rt.create_start_delete())

print(f"bench: {N} samples of exec", file=sys.stderr)
targets = {}
for rt in runtimes:
    cid = rt.new_id("exec")
    if rt.call("create", "--bundle", B_SLEEP, cid) == 0 and rt.call("start", cid) == 0:
        targets[rt.name] = cid
    else:
        print(f"bench: {rt.name}: could not start the exec target:\n    {rt.log_tail()}", file=sys.stderr)
        rt.cleanup(cid)
for _ in range(N):
    for rt in runtimes:
        if rt.name in targets:
            samples[rt.name]["exec"].append(rt.exec_once(targets[rt.name]))
# Back to back, a cgroup.procs write finds the kernel's lock already in its
# slow mode; after a pause (an engine's occasional exec) the first write
# waits for an RCU grace period. 10 samples, each after IDLE seconds.
IDLE = 0.3
print(f"bench: 10 samples of exec after {IDLE} s idle", file=sys.stderr)
for _ in range(10):
    for rt in runtimes:
        if rt.name in targets:
            time.sleep(IDLE)
            samples[rt.name]["idle_exec"].append(rt.exec_once(targets[rt.name]))
for rt in runtimes:
    if rt.name in targets:
        rt.cleanup(targets[rt.name])

for rt in runtimes:
    r, s = res[rt.name], samples[rt.name]
    for k in ("run", "csd", "exec", "idle_exec"):
        r[f"{k}_ms"] = median_ms(s[k])
        r[f"{k}_failures"] = sum(1 for x in s[k] if x is None)
    rss = [rt.peak_rss_kb() for _ in range(3)]
    rss = [x for x in rss if x is not None]
    r["rss_mb"] = statistics.median(rss) / 1024 if rss else None
    r["size_mb"] = os.path.getsize(rt.path) / 1e6

print(f"bench: throughput, {SEQ} sequential and {SEQ} with {PAR} in parallel", file=sys.stderr)
for rt in runtimes:
    t0 = time.perf_counter()
    fails = sum(1 for _ in range(SEQ) if rt.run_once() is None)
    res[rt.name]["seq_s"] = time.perf_counter() - t0
    res[rt.name]["seq_failures"] = fails
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(PAR) as pool:
        out = list(pool.map(lambda _: rt.run_once(), range(SEQ)))
    res[rt.name]["par_s"] = time.perf_counter() - t0
    res[rt.name]["par_failures"] = sum(1 for x in out if x is None)

# --- scale --------------------------------------------------------------------
def scale(rt, count, workers):
    """Seconds per phase for `count` sleep containers, `workers` at a time."""
    ids = [rt.new_id(f"scale{count}") for _ in range(count)]
    def each(fn):
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            ok = all(pool.map(fn, ids))
        return time.perf_counter() - t0, ok
    up, ok_up = each(lambda c: rt.call("create", "--bundle", B_SLEEP, c) == 0 and rt.call("start", c) == 0)
    t0 = time.perf_counter()
    ok_list = rt.call("list") == 0
    listed = time.perf_counter() - t0
    states, ok_state = each(lambda c: rt.call("state", c) == 0)
    down, ok_down = each(lambda c: rt.call("delete", "-f", c) == 0)
    return {"up_s": up, "list_ms": listed * 1000, "state_s": states, "delete_s": down,
            "ok": ok_up and ok_list and ok_state and ok_down}

scale_res = {rt.name: {} for rt in runtimes}
for count in SCALE:
    print(f"bench: scale, {count} containers", file=sys.stderr)
    for rt in runtimes:
        scale_res[rt.name][str(count)] = scale(rt, count, 1)
if SCALE:
    top = max(SCALE)
    print(f"bench: scale, {top} containers, 4 at a time", file=sys.stderr)
    for rt in runtimes:
        scale_res[rt.name][f"{top}x4"] = scale(rt, top, 4)

# --- table ------------------------------------------------------------------
rows = [
    ("run true (median ms)", "run_ms", "{:.1f}"),
    ("create+start+delete -f (ms)", "csd_ms", "{:.1f}"),
    ("exec true (median ms)", "exec_ms", "{:.1f}"),
    (f"exec true after {IDLE} s idle (ms)", "idle_exec_ms", "{:.1f}"),
    ("peak RSS of run (MB)", "rss_mb", "{:.1f}"),
    ("binary size (MB)", "size_mb", "{:.1f}"),
    (f"{SEQ} sequential runs (s)", "seq_s", "{:.2f}"),
    (f"{SEQ} runs, {PAR} parallel (s)", "par_s", "{:.2f}"),
]
names = [rt.name for rt in runtimes]
ratios = [(f"corten/{o}", o) for o in ("crun", "runc") if "corten" in res and o in res]
head = ["metric"] + names + [r[0] for r in ratios]
table = []
for label, key, fmt in rows:
    line = [label]
    for n in names:
        v = res[n].get(key)
        line.append(fmt.format(v) if v is not None else "-")
    for _, o in ratios:
        a, b = res["corten"].get(key), res[o].get(key)
        line.append(f"{a / b:.2f}x" if a is not None and b else "-")
    table.append(line)
widths = [max(len(r[i]) for r in [head] + table) for i in range(len(head))]
fmt_row = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
print()
print(fmt_row(head))
print("  ".join("-" * w for w in widths))
for r in table:
    print(fmt_row(r))
print(f"\nfloor (wrapper running /bin/true): {median_ms(floor):.1f} ms; N={N}, every command wrapped.")
for n in names:
    f = {k: v for k, v in res[n].items() if k.endswith("_failures") and v}
    if f:
        print(f"{n}: failures {f}")
for rt in runtimes:
    print(f"{rt.name}: {rt.path}")
if SCALE:
    print("\nscale: per container, ms (create+start / state / delete -f); list of all, ms")
    for n in names:
        cells = []
        for key, r in scale_res[n].items():
            count = int(key.split("x")[0])
            per = lambda k: r[k] / count * 1000
            flag = "" if r["ok"] else " (failures)"
            cells.append(f"{key}: {per('up_s'):.1f} / {per('state_s'):.1f} / {per('delete_s'):.1f}, "
                         f"list {r['list_ms']:.1f}{flag}")
        print(f"  {n}: " + "; ".join(cells))
if JSON_OUT:
    res["_scale"] = scale_res
    res["_floor_ms"] = median_ms(floor)
    res["_params"] = {"n": N, "seq": SEQ, "par": PAR}
    json.dump(res, open(JSON_OUT, "w"), indent=1)
EOF

echo
echo "== seccomp: compiling podman's default profile (the OCI form podman hands a runtime)"
(cd "$repo_root" && cargo run -q --release -p corten-seccomp --example compile-bench -- \
	crates/seccomp/tests/data/podman-default.oci.json 200)
