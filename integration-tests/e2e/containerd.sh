#!/bin/bash
# containerd's runc v2 shim drives corten end to end (issue 6): containerd
# from Debian, a private daemon (shared/docs/E2E.md), an OCI image layout
# made from the repo's busybox rootfs, the checks a ctr user runs, then
# "N passed, N failed".
#
#   integration-tests/e2e/containerd.sh [--runc]   (--runc: the same checks with Debian's runc)
set -u
. "$(dirname "$0")/lib.sh"

select_runtime "$@"
need=(containerd)
[ "$runtime_name" = runc ] && need+=(runc)
install_missing "${need[@]}"

work=$(mktemp -d /tmp/corten-e2e-containerd.XXXXXX)
# A remapped container's root (host uid 100000) must reach its rootfs.
chmod 755 "$work"
sock=$work/containerd.sock
cat >"$work/config.toml" <<CONF
version = 2
root = "$work/root"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
CONF
containerd --config "$work/config.toml" >"$work/containerd.log" 2>&1 &
daemon=$!
ns=corten-e2e
c() { ctr -a "$sock" -n "$ns" "$@"; }
img=localhost/corten-e2e-busybox:latest
runtime=(--runtime io.containerd.runc.v2 --runc-binary "$runtime_bin" --runc-root "$work/runtime-root")

cleanup() {
	for t in $(c task ls -q 2>/dev/null); do c task kill -s KILL "$t" >/dev/null 2>&1; done
	sleep 0.5
	for t in $(c task ls -q 2>/dev/null); do c task delete -f "$t" >/dev/null 2>&1; done
	for ctr_id in $(c containers ls -q 2>/dev/null); do c containers delete "$ctr_id" >/dev/null 2>&1; done
	c images rm "$img" >/dev/null 2>&1
	kill "$daemon" 2>/dev/null
	wait "$daemon" 2>/dev/null
	remove_work "$work"
}
trap cleanup EXIT

for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done

# An OCI image layout: the rootfs as one gzip layer, its config, manifest
# and an index naming the image for containerd.
python3 - "$rootfs" "$work/image" "$img" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
rootfs, out, name = sys.argv[1:]
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs)
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
    t.add(rootfs, arcname=".")
raw = raw.getvalue()
gz = gzip.compress(raw, mtime=0)
def put(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(blobs, d), "wb").write(data)
    return "sha256:" + d, len(data)
layer, layer_size = put(gz)
config = json.dumps({"architecture": "amd64", "os": "linux",
    "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}).encode()
cfg, cfg_size = put(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg, "size": cfg_size},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": layer_size}]}).encode()
man, man_size = put(manifest)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": man, "size": man_size, "annotations": {"io.containerd.image.name": name,
    "org.opencontainers.image.ref.name": "latest"}}]}, open(os.path.join(out, "index.json"), "w"))
open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion": "1.0.0"}')
PY
tar -C "$work/image" -cf "$work/image.tar" .
c images import --all-platforms "$work/image.tar" >/dev/null

check "run prints" "hi" c run --rm "${runtime[@]}" "$img" e2e-run echo hi
check_code "run passes the exit code" 7 c run --rm "${runtime[@]}" "$img" e2e-code sh -c 'exit 7'
check "run -d" "" c run -d "${runtime[@]}" "$img" e2e-bg sh -c 'trap "exit 0" TERM; while :; do sleep 1; done'
check "task is running" "RUNNING" c task ls
check "exec" "in-exec" c task exec --exec-id x1 e2e-bg echo in-exec
check_code "exec passes the exit code" 5 c task exec --exec-id x2 e2e-bg sh -c 'exit 5'
check "task ps" "PID" c task ps e2e-bg
check "metrics" "pids" c task metrics e2e-bg
check "pause" "" c task pause e2e-bg
check "paused" "PAUSED" c task ls
check "resume" "" c task resume e2e-bg
check "kill" "" c task kill -s TERM e2e-bg
for _ in $(seq 50); do c task ls | grep -q "e2e-bg.*STOPPED" && break; sleep 0.1; done
check "stopped after kill" "STOPPED" c task ls
check "delete" "" c task delete e2e-bg
c containers delete e2e-bg >/dev/null 2>&1
check "--cgroup" "/corten-e2e-cg" c run --rm "${runtime[@]}" --cgroup /corten-e2e-cg "$img" e2e-cg cat /proc/self/cgroup
host_net=$(readlink /proc/self/ns/net)
check "--with-ns network:host" "$host_net" c run --rm "${runtime[@]}" --with-ns network:/proc/self/ns/net "$img" e2e-ns readlink /proc/self/ns/net
check "--uidmap" "0 100000 65536" c run --rm "${runtime[@]}" --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$img" e2e-uid sh -c 'tr -s " " </proc/self/uid_map'
check "--cap-add" "sys_admin=1" c run --rm "${runtime[@]}" --cap-add CAP_SYS_ADMIN "$img" e2e-cap \
	sh -c 'e=$(grep CapEff /proc/self/status | cut -f2); echo sys_admin=$(( 0x$e >> 21 & 1 ))'
check "no CAP_SYS_ADMIN by default" "sys_admin=0" c run --rm "${runtime[@]}" "$img" e2e-nocap \
	sh -c 'e=$(grep CapEff /proc/self/status | cut -f2); echo sys_admin=$(( 0x$e >> 21 & 1 ))'
check "seccomp" "Seccomp:	2" c run --rm "${runtime[@]}" --seccomp "$img" e2e-sc grep Seccomp: /proc/self/status
check "--pid-file" "" c run -d "${runtime[@]}" --pid-file "$work/pf" "$img" e2e-pf sleep 30
check "pid file names the task" "$(cat "$work/pf" 2>/dev/null)" c task ls
c task kill -s KILL e2e-pf >/dev/null 2>&1; sleep 0.3; c task delete e2e-pf >/dev/null 2>&1; c containers delete e2e-pf >/dev/null 2>&1

summary containerd "$runtime_name"
