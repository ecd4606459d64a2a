#!/bin/bash
# The engines with their systemd cgroup setting drive corten end to end
# (issue 13), on a host whose init is systemd: hack/systemd-vm.sh runs it
# there, in v2 and in hybrid mode. podman with cgroup_manager = "systemd"
# (root; rootless too on v2, through the test user's systemd instance),
# containerd's runc shim with SystemdCgroup, dockerd with
# native.cgroupdriver=systemd: run, limits, exec, stop, rm, and each
# container's scope unit gone afterwards. Then "N passed, N failed".
#
#   integration-tests/e2e/systemd.sh [--runc]   (--runc: the same checks with runc)
set -u
. "$(dirname "$0")/lib.sh"

select_runtime "$@"
[ -d /run/systemd/system ] || { echo "systemd.sh: systemd is not this host's init" >&2; exit 1; }
v2=false
[ -f /sys/fs/cgroup/cgroup.controllers ] && v2=true

work=$(mktemp -d /tmp/corten-e2e-systemd.XXXXXX)
chmod 755 "$work"
img=localhost/corten-e2e-busybox

# unit_gone UNIT: systemd no longer knows it (not even as failed).
unit_gone() { [ "$(systemctl show -p LoadState --value "$1")" = not-found ]; }
# unit_prop UNIT PROP: a property as systemctl shows it.
unit_prop() { systemctl show -p "$2" --value "$1"; }
# The limits as the container sees them (its own cgroup, v2 or v1).
limits='if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	echo $(cat /sys/fs/cgroup/memory.max) $(cat /sys/fs/cgroup/pids.max) $(cut -d" " -f1 /sys/fs/cgroup/cpu.max)
else
	echo $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) $(cat /sys/fs/cgroup/pids/pids.max) $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)
fi'

daemons=()
cleanup() {
	pm rm -af -t 0 >/dev/null 2>&1
	[ "$v2" = true ] && rootless_cleanup
	if [ -n "${DOCKER_HOST:-}" ]; then docker rm -f $(docker ps -aq 2>/dev/null) >/dev/null 2>&1; fi
	for t in $(c task ls -q 2>/dev/null); do c task kill -s KILL "$t" >/dev/null 2>&1; done
	sleep 0.3
	for t in $(c task ls -q 2>/dev/null); do c task delete -f "$t" >/dev/null 2>&1; done
	for p in "${daemons[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	remove_work "$work"
}
trap cleanup EXIT

# --- podman, as root -----------------------------------------------------
mkdir -p "$work/pm"
cat >"$work/pm/containers.conf" <<CONF
[engine]
cgroup_manager = "systemd"
events_logger = "file"
events_logfile_path = "$work/pm/events.log"
runtime = "$runtime_name"
runtime_supports_json = ["corten", "runc", "crun"]
tmp_dir = "$work/pm/tmp"
static_dir = "$work/pm/libpod"
volume_path = "$work/pm/volumes"
[engine.runtimes]
$runtime_name = ["$runtime_bin"]
CONF
cat >"$work/pm/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$work/pm/storage"
runroot = "$work/pm/run"
CONF
pm() {
	CONTAINERS_CONF=$work/pm/containers.conf CONTAINERS_STORAGE_CONF=$work/pm/storage.conf \
		podman --runtime "$runtime_bin" "$@"
}
tar -C "$rootfs" -c . | pm import --change 'CMD ["/bin/sh"]' - "$img" >/dev/null

check "podman: run prints" "hi" pm run --rm --network none "$img" echo hi
check "podman: memory, pids and cpu limits" "67108864 50 50000" \
	pm run --rm --network none --memory 64m --pids-limit 50 --cpus 0.5 "$img" sh -c "$limits"
cid=$(pm run -d --network none --pids-limit 60 "$img" sleep 1000)
check "podman: the container's scope is active" "active" unit_prop "libpod-$cid.scope" ActiveState
check "podman: the scope has the limit" "60" unit_prop "libpod-$cid.scope" TasksMax
check "podman: exec" "in-exec" pm exec "$cid" echo in-exec
check "podman: pause" "" pm pause "$cid"
check "podman: paused" "paused" pm inspect -f '{{.State.Status}}' "$cid"
check "podman: unpause" "" pm unpause "$cid"
check "podman: stop" "" pm stop -t 1 "$cid"
check "podman: rm" "" pm rm "$cid"
check "podman: the scope is gone" "" unit_gone "libpod-$cid.scope"

# --- podman, rootless, through the user's systemd (cgroup v2 only) ------------
rl_user=corten-it
rootless_cleanup() { :; }
if [ "$v2" = true ]; then
	rl_uid=$(id -u "$rl_user")
	rl=$work/rootless
	mkdir -p "$rl/bin" "$rl/home"
	cp "$runtime_bin" "$rl/bin/$runtime_name"
	chmod 0755 "$rl/bin" "$rl/bin/$runtime_name"
	sed -e "s|$work/pm|$rl|g" -e "s|$runtime_bin|$rl/bin/$runtime_name|" \
		"$work/pm/containers.conf" >"$rl/containers.conf"
	printf '[storage]\ndriver = "vfs"\nrootless_storage_path = "%s/storage"\n' "$rl" >"$rl/storage.conf"
	chown -R "$rl_user:$rl_user" "$rl"
	upm() {
		setpriv --reuid="$rl_user" --regid="$rl_user" --init-groups env -i PATH="$PATH" \
			HOME="$rl/home" USER="$rl_user" LOGNAME="$rl_user" XDG_RUNTIME_DIR="/run/user/$rl_uid" \
			DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$rl_uid/bus" \
			CONTAINERS_CONF="$rl/containers.conf" CONTAINERS_STORAGE_CONF="$rl/storage.conf" \
			podman --runtime "$rl/bin/$runtime_name" "$@"
	}
	rootless_cleanup() { upm rm -af -t 0 >/dev/null 2>&1; upm system migrate >/dev/null 2>&1; }
	tar -C "$rootfs" -c . | upm import --change 'CMD ["/bin/sh"]' - "$img" >/dev/null 2>&1
	check "rootless podman: run with a pids limit" "40" \
		upm run --rm --network none --pids-limit 40 "$img" cat /sys/fs/cgroup/pids.max
	cid=$(upm run -d --network none "$img" sleep 1000)
	user_unit() { systemctl --user -M "$rl_user@" show -p "$2" --value "$1"; }
	check "rootless podman: the scope is the user manager's" "active" user_unit "libpod-$cid.scope" ActiveState
	check "rootless podman: exec" "in-exec" upm exec "$cid" echo in-exec
	check "rootless podman: rm" "" upm rm -f -t 0 "$cid"
	check "rootless podman: the scope is gone" "not-found" user_unit "libpod-$cid.scope" LoadState
fi

# --- containerd, SystemdCgroup -------------------------------------------
sock=$work/containerd.sock
cat >"$work/containerd.toml" <<CONF
version = 2
root = "$work/ctrd-root"
state = "$work/ctrd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
CONF
containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
daemons+=($!)
c() { ctr -a "$sock" -n corten-e2e "$@"; }
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
pm save --format oci-archive -o "$work/image.tar" "$img" >/dev/null
c images import --all-platforms --index-name "$img:latest" "$work/image.tar" >/dev/null 2>&1 ||
	c images import --all-platforms "$work/image.tar" >/dev/null
cimg=$(c images ls -q | head -n1)
crun_=(--runtime io.containerd.runc.v2 --runc-binary "$runtime_bin" --runc-systemd-cgroup)
check "containerd: run prints" "hi" c run --rm "${crun_[@]}" --cgroup system.slice:cortene2e:run "$cimg" e2e-run echo hi
check "containerd: run -d" "" c run -d "${crun_[@]}" --cgroup system.slice:cortene2e:bg --memory-limit 67108864 "$cimg" e2e-bg sleep 1000
check "containerd: the scope is active" "active" unit_prop cortene2e-bg.scope ActiveState
check "containerd: exec" "in-exec" c task exec --exec-id x1 e2e-bg echo in-exec
# ctr's spec has no cgroup namespace nor cgroup mount: the limit is read
# where systemd put the scope.
if [ "$v2" = true ]; then
	check "containerd: the scope has the limit" "67108864" cat /sys/fs/cgroup/system.slice/cortene2e-bg.scope/memory.max
else
	check "containerd: the scope has the limit" "67108864" \
		cat /sys/fs/cgroup/memory/system.slice/cortene2e-bg.scope/memory.limit_in_bytes
fi
check "containerd: kill" "" c task kill -s KILL e2e-bg
for _ in $(seq 50); do c task ls | grep -q "e2e-bg.*STOPPED" && break; sleep 0.1; done
check "containerd: delete" "" c task delete e2e-bg
c containers delete e2e-bg >/dev/null 2>&1
check "containerd: the scope is gone" "" unit_gone cortene2e-bg.scope

# --- Docker, native.cgroupdriver=systemd -----------------------------------
cat >"$work/daemon.json" <<CONF
{
  "data-root": "$work/docker-data",
  "exec-root": "$work/docker-exec",
  "pidfile": "$work/docker.pid",
  "hosts": ["unix://$work/docker.sock"],
  "iptables": false,
  "bridge": "none",
  "storage-driver": "vfs",
  "exec-opts": ["native.cgroupdriver=systemd"],
  "runtimes": {"e2e": {"path": "$runtime_bin"}}
}
CONF
dockerd --config-file "$work/daemon.json" >"$work/dockerd.log" 2>&1 &
daemons+=($!)
export DOCKER_HOST=unix://$work/docker.sock
for _ in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
check "docker: the daemon uses systemd's driver" "systemd" docker info -f '{{.CgroupDriver}}'
tar -C "$rootfs" -c . | docker import --change 'CMD ["/bin/sh"]' - "$img" >/dev/null
r() { docker run --runtime e2e --network none "$@"; }
check "docker: run prints" "hi" r --rm "$img" echo hi
check "docker: memory, pids and cpu limits" "67108864 50 50000" \
	r --rm --memory 64m --pids-limit 50 --cpus 0.5 "$img" sh -c "$limits"
cid=$(r -d "$img" sleep 1000)
check "docker: the scope is active" "active" unit_prop "docker-$cid.scope" ActiveState
check "docker: exec" "in-exec" docker exec "$cid" echo in-exec
check "docker: stop" "" docker stop -t 1 "$cid"
check "docker: rm" "" docker rm "$cid"
check "docker: the scope is gone" "" unit_gone "docker-$cid.scope"

summary "engines with systemd's cgroups" "$runtime_name"
