# Shared by the engine suites (sourced): packages, the rootfs, and the
# check helpers that count "N passed, N failed".

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rootfs=$repo/bundles/busybox/rootfs
passed=0
failed=0

# select_runtime [--runc]: sets runtime_bin and runtime_name (corten, or
# Debian's runc for the comparison run).
select_runtime() {
	runtime_name=corten
	runtime_bin=${CORTEN_BIN:-$repo/target/x86_64-unknown-linux-gnu/debug/corten}
	if [ "${1:-}" = "--runc" ]; then
		runtime_name=runc
		runtime_bin=/usr/sbin/runc
	fi
}

# install_missing PACKAGE...: Debian packages the suite needs.
install_missing() {
	local missing=() p
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
	if [ ${#missing[@]} -gt 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
	[ -x "$rootfs/bin/busybox" ] || "$repo/hack/mkrootfs.sh" "$rootfs" >/dev/null
}

# check NAME WANTED CMD...: passes when CMD exits 0 and its output contains
# every ";"-separated part of WANTED (empty: anything).
check() {
	local name=$1 want=$2
	shift 2
	local out rc ok=1 part parts
	out=$("$@" 2>&1)
	rc=$?
	IFS=';' read -ra parts <<<"$want"
	for part in "${parts[@]}"; do [[ "$out" == *"$part"* ]] || ok=0; done
	if [ $rc -eq 0 ] && [ $ok -eq 1 ]; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name (exit $rc): $(echo "$out" | tail -8 | tr '\n' '|')"
	fi
}

# check_code NAME CODE CMD...: passes when CMD exits with CODE.
check_code() {
	local name=$1 want=$2
	shift 2
	"$@" >/dev/null 2>&1
	local rc=$?
	if [ "$rc" -eq "$want" ]; then
		passed=$((passed + 1))
		echo "ok   $name"
	else
		failed=$((failed + 1))
		echo "FAIL $name: exit $rc, wanted $want"
	fi
}

# tty_run CMDLINE: runs it on a terminal of its own (script(1), bsdutils).
tty_run() { script -qec "$*" /dev/null; }

# summary ENGINE RUNTIME: the last line, and the exit status.
summary() {
	echo "$1 with $2: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

# Unmounts what is left under a suite's work directory, then removes it.
remove_work() {
	grep -o " $1[^ ]*" /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$1"
}
