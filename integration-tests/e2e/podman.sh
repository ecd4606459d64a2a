#!/bin/bash
# podman drives corten end to end (issue 6): podman from Debian, a private
# configuration (shared/docs/E2E.md), a busybox image made from the repo's
# rootfs, the scenarios an engine user runs, then "N passed, N failed".
#
#   integration-tests/e2e/podman.sh [--runc]     (--runc: the same checks with Debian's runc)
#
# Everything lives in a temporary directory and is removed at the end:
# containers, image, storage, the runtime's --root, the network. The last
# checks run rootless podman as the test user corten-it (hack/test.sh makes
# it), with its own configuration, storage and XDG_RUNTIME_DIR there too.
set -u
. "$(dirname "$0")/lib.sh"

select_runtime "$@"

need=(podman conmon netavark aardvark-dns iptables bsdutils uidmap)
[ "$runtime_name" = runc ] && need+=(runc)
install_missing "${need[@]}"

work=$(mktemp -d /tmp/corten-e2e-podman.XXXXXX)
mkdir -p "$work/bin" "$work/net" "$work/vol"
# podman passes --log-format=json only to runtimes by these names; a wrapper
# gives the runtime a --root of its own.
cat >"$work/bin/$runtime_name" <<WRAP
#!/bin/sh
exec $runtime_bin --root $work/runtime-root "\$@"
WRAP
chmod +x "$work/bin/$runtime_name"
subnet=10.213.$((RANDOM % 200 + 20)).0/24
# The engine part of a containers.conf, for root's and for the test user's
# podman: everything under DIR, the runtime wrapper or copy at BIN.
containers_conf() {
	local dir=$1 bin=$2
	cat <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/events.log"
runtime = "$runtime_name"
runtime_supports_json = ["corten", "runc", "crun"]
tmp_dir = "$dir/tmp"
static_dir = "$dir/libpod"
volume_path = "$dir/volumes"
[engine.runtimes]
$runtime_name = ["$bin"]
CONF
}
{
	containers_conf "$work" "$work/bin/$runtime_name"
	cat <<CONF
[network]
network_config_dir = "$work/net"
default_network = "corten-e2e"
default_subnet = "$subnet"
CONF
} >"$work/containers.conf"
cat >"$work/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$work/storage"
runroot = "$work/run"
CONF
export CONTAINERS_CONF=$work/containers.conf CONTAINERS_STORAGE_CONF=$work/storage.conf
img=localhost/corten-e2e-busybox
pm() { podman --network-config-dir "$work/net" "$@"; }

# Rootless podman as the test user: everything of the user's is under $rl.
rl_user=corten-it
rl=$work/rootless
rootless_cleanup() {
	[ -d "$rl/tmp" ] || return 0
	upm rm -af -t 0 >/dev/null 2>&1
	upm rmi -af >/dev/null 2>&1
	# podman's pause process holds the user namespace: it is ours to end.
	local pause
	pause=$(cat "$rl/tmp/pause.pid" 2>/dev/null)
	if [ -n "$pause" ] && [ "$(cat "/proc/$pause/comm" 2>/dev/null)" = catatonit ]; then
		kill "$pause"
	fi
}
# upm ARGS...: podman as the user, with only its own environment.
upm() {
	setpriv --reuid="$rl_user" --regid="$rl_user" --init-groups env -i PATH="$PATH" \
		HOME="$rl/home" USER="$rl_user" LOGNAME="$rl_user" XDG_RUNTIME_DIR="$rl/run" \
		CONTAINERS_CONF="$rl/containers.conf" CONTAINERS_STORAGE_CONF="$rl/storage.conf" \
		podman --runtime "$rl/bin/$runtime_name" "$@"
}

cleanup() {
	pm rm -af -t 0 >/dev/null 2>&1
	pm network rm -f corten-e2e >/dev/null 2>&1
	pm rmi -af >/dev/null 2>&1
	rootless_cleanup
	# vfs has no mounts, but a failed run may leave shm or netns mounts.
	remove_work "$work"
}
trap cleanup EXIT

tar -C "$rootfs" -c . | pm import --change 'CMD ["/bin/sh"]' - "$img" >/dev/null

check "run prints" "hi" pm run --rm --network none "$img" echo hi
check_code "run passes the exit code" 7 pm run --rm --network none "$img" sh -c 'exit 7'
loop='trap "exit 0" TERM; while :; do echo tick; sleep 1; done'
cid=$(pm run -d --network none "$img" sh -c "$loop")
check "run -d is running" "running" pm inspect -f '{{.State.Status}}' "$cid"
check "exec" "in-exec" pm exec "$cid" echo in-exec
check_code "exec passes the exit code" 5 pm exec "$cid" sh -c 'exit 5'
check "exec -it gets a tty" "/dev/pts/" tty_run podman --network-config-dir "$work/net" exec -it "$cid" tty
check "exec --user --env --workdir" "1000 x /tmp" pm exec --user 1000 -e V=x -w /tmp "$cid" sh -c 'echo $(id -u) $V $(pwd)'
check "logs" "tick" pm logs "$cid"
check "top" "sh" pm top "$cid"
check "stats" "$(echo "$cid" | cut -c1-12)" pm stats --no-stream "$cid"
check "pause" "" pm pause "$cid"
check "paused state" "paused" pm inspect -f '{{.State.Status}}' "$cid"
check "unpause" "" pm unpause "$cid"
check "stop" "" pm stop -t 10 "$cid"
check "stopped with exit 0" "0" pm inspect -f '{{.State.ExitCode}}' "$cid"
check "start again (restart)" "" pm start "$cid"
check "kill" "" pm kill -s KILL "$cid"
check "rm" "" pm rm -f "$cid"
# (A process that exits right after printing can lose its output to a
# podman/conmon race under -it, with runc too: it lingers a moment.)
check "run -it gets a tty" "/dev/pts/" tty_run podman --network-config-dir "$work/net" run --rm -it --network none "$img" sh -c "'tty; sleep 0.5'"
check "memory, pids and cpu limits" "67108864 50 50000" pm run --rm --network none --memory 64m --pids-limit 50 --cpus 0.5 "$img" \
	sh -c 'echo $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) $(cat /sys/fs/cgroup/pids/pids.max) $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)'
# Security options together: read-only rootfs, user, capabilities,
# no_new_privs, and podman's default seccomp profile.
check "read-only, --user, caps, no-new-privileges, seccomp" \
	"Read-only;uid=1000;gid=1000;CapEff:	0000000000002000;NoNewPrivs:	1;Seccomp:	2;not permitted" \
	pm run --rm --network none --read-only --user 1000:1000 --cap-drop ALL --cap-add NET_RAW \
	--security-opt no-new-privileges "$img" sh -c \
	'touch /x 2>&1; id; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; swapoff /x 2>&1; true'
echo data >"$work/vol/file"
check "volume, tmpfs, ulimit, sysctl, device" "data;tmpfs on /scratch;nofile=1000;forward=1;/dev/fuse" \
	pm run --rm --network none -v "$work/vol:/data" --tmpfs /scratch --ulimit nofile=1000:1000 \
	--ulimit nproc=32768:32768 --sysctl net.ipv4.ip_forward=1 --device /dev/fuse "$img" sh -c \
	'cat /data/file; mount | grep "on /scratch"; echo nofile=$(ulimit -n); echo forward=$(cat /proc/sys/net/ipv4/ip_forward); ls /dev/fuse'
check "--init" "podman-init" pm run --rm --network none --init "$img" ps
check "--pid host" "1" pm run --rm --network none --pid host "$img" sh -c 'ls /proc | grep -cx 1'
check "--network none has only lo" "lo" pm run --rm --network none "$img" ls /sys/class/net
# A bridge network with a published port, reached from the host.
web=$(pm run -d -p 127.0.0.1:18089:8080 "$img" sh -c 'while :; do echo hello-from-bridge | nc -l -p 8080; done')
sleep 1
check "bridge network with a published port" "hello-from-bridge" \
	timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/18089; cat <&3'
pm rm -f -t 0 "$web" >/dev/null 2>&1
# Several containers at once.
pids=()
for i in 1 2 3 4; do
	pm run --rm --network none "$img" sh -c "echo parallel-$i" >"$work/par$i" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
check "four containers in parallel" "parallel-1 parallel-2 parallel-3 parallel-4" sh -c "cat $work/par1 $work/par2 $work/par3 $work/par4 | tr '\n' ' '"

# Rootless: the test user runs podman, which sets up a user namespace
# mapping the user to root and its /etc/subuid range after it (through
# newuidmap) and runs the runtime in it, as root of that namespace. The
# runtime keeps its state in the user's XDG_RUNTIME_DIR, without cgroups on
# cgroup v1. The user owns $rl; files of its subordinate ids in the storage
# are removed by root with the rest.
if ! rl_uid=$(id -u "$rl_user" 2>/dev/null) || ! grep -q "^$rl_user:" /etc/subuid /etc/subgid; then
	failed=$((failed + 1))
	echo "FAIL rootless: no user $rl_user with /etc/subuid and /etc/subgid ranges (hack/test.sh makes it)"
else
	rl_gid=$(id -g "$rl_user")
	IFS=: read -r _ rl_subuid rl_nsubuid < <(grep "^$rl_user:" /etc/subuid)
	IFS=: read -r _ rl_subgid rl_nsubgid < <(grep "^$rl_user:" /etc/subgid)
	# $work is root's 0700: let the user through to its own directory, which
	# holds a copy of the runtime (the checkout may be closed to others).
	chmod 0711 "$work"
	mkdir -p "$rl/bin" "$rl/home" "$rl/run" "$rl/tmp"
	cp "$runtime_bin" "$rl/bin/$runtime_name"
	chmod 0755 "$rl/bin" "$rl/bin/$runtime_name"
	# Rootless podman takes the storage from rootless_storage_path (graphroot
	# and runroot are for root); its runroot is in XDG_RUNTIME_DIR.
	containers_conf "$rl" "$rl/bin/$runtime_name" >"$rl/containers.conf"
	cat >"$rl/storage.conf" <<CONF
[storage]
driver = "vfs"
rootless_storage_path = "$rl/storage"
CONF
	chown -R "$rl_user:$rl_user" "$rl"
	chmod 0700 "$rl" "$rl/run"
	tar -C "$rootfs" -c . | upm import --change 'CMD ["/bin/sh"]' - "$img" >/dev/null 2>&1
	# One attached run (each takes ~20 s here) for its output and exit code.
	upm run --rm --network none "$img" sh -c \
		'echo uid=$(id -u); awk "{print \"uid_map\", \$1, \$2, \$3}" /proc/self/uid_map; awk "{print \"gid_map\", \$1, \$2, \$3}" /proc/self/gid_map; exit 7' \
		>"$work/rl-run.out" 2>&1
	rc=$?
	check_code "rootless: run passes the exit code" 7 sh -c "exit $rc"
	check "rootless: run, id -u is 0" "uid=0" cat "$work/rl-run.out"
	check "rootless: uid_map and gid_map: the user, then its subordinate range" \
		"uid_map 0 $rl_uid 1;uid_map 1 $rl_subuid $rl_nsubuid;gid_map 0 $rl_gid 1;gid_map 1 $rl_subgid $rl_nsubgid" \
		cat "$work/rl-run.out"
	cid=$(upm run -d --network none "$img" sh -c "$loop")
	check "rootless: run -d is running" "running" upm inspect -f '{{.State.Status}}' "$cid"
	check "rootless: the runtime's state is in XDG_RUNTIME_DIR" "" test -f "$rl/run/$runtime_name/$cid/state.json"
	check "rootless: exec" "in-exec 0" upm exec "$cid" sh -c 'echo in-exec $(id -u)'
	check_code "rootless: exec passes the exit code" 5 upm exec "$cid" sh -c 'exit 5'
	check "rootless: logs" "tick" upm logs "$cid"
	check "rootless: stop" "" upm stop -t 10 "$cid"
	check "rootless: stopped with exit 0" "0" upm inspect -f '{{.State.ExitCode}}' "$cid"
	check "rootless: rm" "" upm rm "$cid"
	# keep-id: the runtime makes a user namespace inside podman's, the user's
	# own id mapped to itself.
	cid=$(upm run -d --network none --userns keep-id "$img" sleep 60)
	check "rootless: --userns keep-id" "uid=$rl_uid;uid_map $rl_uid 0 1" upm exec "$cid" sh -c \
		'echo uid=$(id -u); awk "{print \"uid_map\", \$1, \$2, \$3}" /proc/self/uid_map'
	upm rm -f -t 0 "$cid" >/dev/null 2>&1
fi

summary podman "$runtime_name"
