#!/usr/bin/env bash
# Sets up and runs a demo container: builds corten (release), builds the
# busybox rootfs from Debian's busybox-static, and runs the bundle in
# bundles/busybox with a command that shows what the container sees.
#
#   sudo hack/demo.sh            # the demo command
#   sudo hack/demo.sh sh -i      # any command instead, e.g. a shell on your terminal
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "hack/demo.sh: corten needs root for this demo (rootless comes later): run with sudo" >&2
	exit 1
fi
cargo build --release -q -p corten
hack/mkrootfs.sh bundles/busybox/rootfs

work=$(mktemp -d /tmp/corten-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The committed config with the demo's command; the rootfs stays in the repo.
if [ $# -eq 0 ]; then
	set -- sh -c 'echo "hello from corten: pid $$ on host $(hostname), running as $(id -un)";
		echo "mounts:"; cut -d" " -f2,3 /proc/mounts | sed "s/^/  /";
		echo "network:"; ls /sys/class/net | sed "s/^/  /"'
fi
python3 - "$PWD/bundles/busybox" "$work/config.json" "$@" <<'PY'
import json, sys
bundle, out, args = sys.argv[1], sys.argv[2], sys.argv[3:]
c = json.load(open(bundle + "/config.json"))
c["root"]["path"] = bundle + "/rootfs"
c["process"]["args"] = args
json.dump(c, open(out, "w"), indent=2)
PY
status=0
target/x86_64-unknown-linux-gnu/release/corten --root "$work/state" run --bundle "$work" "demo-$$" || status=$?
exit "$status"
