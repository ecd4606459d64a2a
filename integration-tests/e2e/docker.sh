#!/bin/bash
# Docker drives corten end to end (issue 6): Debian's docker.io, a private
# dockerd with corten under "runtimes" (shared/docs/E2E.md), an image
# imported from the repo's busybox rootfs, then "N passed, N failed".
#
#   integration-tests/e2e/docker.sh [--runc]    (--runc: the same checks with Debian's runc)
set -u
. "$(dirname "$0")/lib.sh"

select_runtime "$@"
need=(docker.io containerd tini bsdutils)
[ "$runtime_name" = runc ] && need+=(runc)
install_missing "${need[@]}"

work=$(mktemp -d /tmp/corten-e2e-docker.XXXXXX)
chmod 755 "$work"
mkdir -p "$work/vol"
cat >"$work/daemon.json" <<CONF
{
  "data-root": "$work/data",
  "exec-root": "$work/exec",
  "pidfile": "$work/docker.pid",
  "hosts": ["unix://$work/docker.sock"],
  "iptables": false,
  "bridge": "none",
  "storage-driver": "vfs",
  "runtimes": {"e2e": {"path": "$runtime_bin"}},
  "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 20000, "Soft": 20000},
                      "nproc": {"Name": "nproc", "Hard": 32768, "Soft": 32768}}
}
CONF
dockerd --config-file "$work/daemon.json" >"$work/dockerd.log" 2>&1 &
daemon=$!
export DOCKER_HOST=unix://$work/docker.sock
img=corten-e2e-busybox
d() { docker "$@"; }
r() { docker run --runtime e2e --network none "$@"; }

cleanup() {
	d rm -f $(d ps -aq 2>/dev/null) >/dev/null 2>&1
	d rmi -f "$img" >/dev/null 2>&1
	kill "$daemon" 2>/dev/null
	wait "$daemon" 2>/dev/null
	remove_work "$work"
}
trap cleanup EXIT
for _ in $(seq 300); do d info >/dev/null 2>&1 && break; sleep 0.1; done

tar -C "$rootfs" -c . | d import --change 'CMD ["/bin/sh"]' - "$img" >/dev/null

check "run prints" "hi" r --rm "$img" echo hi
check_code "run passes the exit code" 7 r --rm "$img" sh -c 'exit 7'
cid=$(r -d "$img" sh -c 'trap "exit 0" TERM; while :; do echo tick; sleep 1; done')
check "run -d is running" "running" d inspect -f '{{.State.Status}}' "$cid"
check "exec" "in-exec" d exec "$cid" echo in-exec
check_code "exec passes the exit code" 5 d exec "$cid" sh -c 'exit 5'
check "exec -t gets a tty" "/dev/pts/" tty_run docker exec -t "$cid" sh -c "'tty; sleep 0.3'"
check "exec --user --env --workdir" "1000 x /tmp" d exec --user 1000 -e V=x -w /tmp "$cid" sh -c 'echo $(id -u) $V $(pwd)'
check "logs" "tick" d logs "$cid"
check "top" "sh" d top "$cid"
check "stats" "$(echo "$cid" | cut -c1-12)" d stats --no-stream "$cid"
check "pause" "" d pause "$cid"
check "paused" "paused" d inspect -f '{{.State.Status}}' "$cid"
check "unpause" "" d unpause "$cid"
check "restart" "" d restart -t 5 "$cid"
check "running after restart" "running" d inspect -f '{{.State.Status}}' "$cid"
check "stop" "" d stop -t 10 "$cid"
check "stopped with exit 0" "0" d inspect -f '{{.State.ExitCode}}' "$cid"
check "start, kill" "" sh -c "docker start $cid >/dev/null && docker kill $cid"
check "rm" "" d rm -f "$cid"
check "run -it gets a tty" "/dev/pts/" tty_run docker run --runtime e2e --network none --rm -it "$img" sh -c "'tty; sleep 0.3'"
check "memory, pids and cpu limits" "67108864 50 50000" r --rm --memory 64m --pids-limit 50 --cpus 0.5 "$img" \
	sh -c 'echo $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) $(cat /sys/fs/cgroup/pids/pids.max) $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)'
check "read-only, --user, caps, no-new-privileges, seccomp" \
	"Read-only;uid=1000;gid=1000;CapBnd:	0000000000002000;NoNewPrivs:	1;Seccomp:	2;not permitted" \
	r --rm --read-only --user 1000:1000 --cap-drop ALL --cap-add NET_RAW --security-opt no-new-privileges "$img" \
	sh -c 'touch /x 2>&1; id; grep -E "^(CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; swapoff /x 2>&1; true'
echo data >"$work/vol/file"
check "volume, tmpfs, ulimit, sysctl, device" "data;on /scratch;nofile=1000;forward=1;/dev/fuse" \
	r --rm -v "$work/vol:/data" --tmpfs /scratch --ulimit nofile=1000:1000 --sysctl net.ipv4.ip_forward=1 \
	--device /dev/fuse "$img" sh -c \
	'cat /data/file; mount | grep "on /scratch"; echo nofile=$(ulimit -n); echo forward=$(cat /proc/sys/net/ipv4/ip_forward); ls /dev/fuse'
check "--init" "docker-init" r --rm --init "$img" ps
check "--pid host" "1" r --rm --pid host "$img" sh -c 'ls /proc | grep -cx 1'
pids=()
for i in 1 2 3 4; do
	r --rm "$img" sh -c "echo parallel-$i" >"$work/par$i" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
check "four containers in parallel" "parallel-1;parallel-2;parallel-3;parallel-4" cat "$work/par1" "$work/par2" "$work/par3" "$work/par4"

summary Docker "$runtime_name"
