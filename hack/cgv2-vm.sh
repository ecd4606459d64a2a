#!/bin/bash
# Run a command inside a qemu VM whose only cgroup hierarchy is cgroup2 at
# /sys/fs/cgroup, every controller enabled, so that corten's cgroup tests run
# on cgroup v2. This host is hybrid (v1 controllers) and has no usable KVM:
# the VM is Debian's kernel under TCG with a busybox initramfs
# (docs: CONFORMANCE.md, "cgroup v2 on this machine").
#
#   [CORTEN_BIN=..] [CORTEN_PROBE=..] [CORTEN_ROOTFS=..] [VM_FILES="F.."] \
#       hack/cgv2-vm.sh [--] COMMAND [ARGS...]
#
# Host files carried into the VM, each to its same absolute (physical) path:
#   CORTEN_BIN     the runtime   (unset: target/x86_64-unknown-linux-gnu/debug/corten)
#   CORTEN_PROBE   the probe     (unset: target/x86_64-unknown-linux-gnu/release/probe)
#   CORTEN_ROOTFS  a rootfs dir  (unset: bundles/busybox/rootfs)
#   VM_FILES       more files or directories, space-separated (a test binary)
#   VM_USERS       host users to have in the VM too: their /etc/passwd, group,
#                  subuid and subgid lines (the rootless tests' user)
# A default that does not exist, or a variable set empty, carries nothing. In
# the VM the three variables name the copies, and RUST_* and CORTEN_IT_* pass
# through. The command runs as root in the host's working directory
# (recreated, writable), stdin /dev/null, busybox applets on PATH, /tmp a
# tmpfs. Its stdout and stderr both come out on this script's stdout; the
# script's own lines go to stderr. The exit status is the command's, or 125
# when the VM failed or timed out. Binaries must be static: no libraries are
# carried.
#
# Tunables: CGV2_VM_TIMEOUT (seconds, default 1200), CGV2_VM_MEM (MiB, 1536),
# CGV2_VM_SMP (2). The kernel cache and the last console log: target/cgv2-vm/.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
cache=$repo_root/target/cgv2-vm
log=$cache/console.log
say() { echo "cgv2-vm: $*" >&2; }
fail() {
	say "$*"
	echo "cgroup v2 VM: FAIL (VM)" >&2
	exit 125
}

[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: $0 [--] COMMAND [ARGS...]" >&2; exit 2; }

# Host tools, installed only when missing (apt needs root then).
missing=()
for pkg in qemu-system-x86 busybox-static cpio file xz-utils; do
	dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The kernel: unpacked from the .deb once (never installed) and cached. Only
# the image is kept: serial, devtmpfs, tmpfs, cgroup2 and namespaces are built
# in. The xz-packed vmlinux is unpacked from the bzImage so that qemu boots the
# ELF through its PVH entry: decompressing under TCG costs 2.5 seconds a boot.
mkdir -p "$cache"
kernel=$(find "$cache" -maxdepth 1 -name 'vmlinux-*' | sort | tail -n1)
if [ -z "$kernel" ]; then
	# linux-image-amd64 is a metapackage: download the image it depends on.
	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
	[ -n "$pkg" ] || fail "cannot resolve linux-image-amd64 (apt-get update?)"
	say "fetching kernel $pkg"
	dl=$work/kernel
	mkdir "$dl"
	(cd "$dl" && { apt-get download "$pkg" >/dev/null 2>&1 || { apt-get update -qq && apt-get download "$pkg" >/dev/null; }; })
	dpkg-deb --fsys-tarfile "$dl"/*.deb | tar -x -C "$dl" --wildcards './boot/vmlinuz-*'
	bz=$(ls "$dl"/boot/vmlinuz-*)
	off=$(LC_ALL=C grep -abo -m1 $'\xfd7zXZ\x00' "$bz" | head -n1 | cut -d: -f1)
	[ -n "$off" ] || fail "$bz: no xz payload (the kernel is no longer xz-packed?)"
	# xz complains about the bytes after the stream: they are not the kernel.
	tail -c +$((off + 1)) "$bz" | xz -dc >"$dl/vmlinux" 2>/dev/null || true
	file -b "$dl/vmlinux" | grep -q '^ELF 64-bit' || fail "$bz: cannot unpack vmlinux"
	kernel=$cache/vmlinux-${bz##*/vmlinuz-}
	mv "$dl/vmlinux" "$kernel"
fi

# The files to carry, as absolute physical paths. A variable set but empty
# carries nothing (a quick command needs no 50 MB debug runtime).
carry=()
envs=()
for spec in CORTEN_BIN:target/x86_64-unknown-linux-gnu/debug/corten \
	CORTEN_PROBE:target/x86_64-unknown-linux-gnu/release/probe \
	CORTEN_ROOTFS:bundles/busybox/rootfs; do
	var=${spec%%:*}
	if [ -n "${!var:-}" ]; then
		p=$(realpath -e "${!var}") || fail "$var=${!var} does not exist"
	elif [ -z "${!var+set}" ] && [ -e "$repo_root/${spec#*:}" ]; then
		p=$(realpath -e "$repo_root/${spec#*:}")
	else
		continue
	fi
	carry+=("$p")
	envs+=("$var=$p")
done
for f in ${VM_FILES:-}; do
	p=$(realpath -e "$f") || fail "VM_FILES: $f does not exist"
	carry+=("$p")
done
for f in "${carry[@]}"; do
	[ -d "$f" ] || ! file -b "$f" | grep -q 'dynamically linked' ||
		say "warning: $f is dynamically linked; its libraries are not in the VM"
done
for var in $(compgen -e | grep -E '^(RUST_|CORTEN_IT_)' || true); do
	envs+=("$var=${!var}")
done

# Single-quote each word for the VM's shell.
quote() { for a; do printf "'%s' " "${a//\'/\'\\\'\'}"; done; }

# The base tree: busybox, the two init stages, the command and its environment.
base=$work/base
mkdir -p "$base"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,run,root,vm}
chmod 1777 "$base/tmp"
cp /bin/busybox "$base/bin/busybox"
ln -s busybox "$base/bin/sh"
echo 'root:x:0:0:root:/root:/bin/sh' >"$base/etc/passwd"
printf 'root:x:0:\ntty:x:5:\n' >"$base/etc/group"
touch "$base/etc/subuid" "$base/etc/subgid"
for user in ${VM_USERS:-}; do
	for f in passwd group subuid subgid; do
		grep "^$user:" "/etc/$f" >>"$base/etc/$f" || true
	done
done
echo '127.0.0.1 localhost cgv2-vm' >"$base/etc/hosts"
{
	echo "mkdir -p $(quote "$(pwd -P)") && cd $(quote "$(pwd -P)")"
	for e in "${envs[@]}"; do echo "export $(quote "$e")"; done
	echo "set -- $(quote "$@")"
} >"$base/vm/cmd"

# Stage 1. pivot_root(2) fails while / is the initramfs itself (the first
# mount has no parent), and corten pivots. A bind mount of it moved onto /
# has one, and costs nothing; copying into a tmpfs and switch_root, the usual
# way, costs a second per 50 MB under TCG.
# The kernel found no /dev/console in the archive: open it from devtmpfs.
cat >"$base/init" <<'EOF'
#!/bin/busybox sh
b=/bin/busybox
$b mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
$b mkdir /newroot
$b mount --bind / /newroot
$b mount --move /dev /newroot/dev
cd /newroot
$b mount --move . /
exec $b chroot . /vm/init2
EOF

# Stage 2: the mounts a host has, cgroup2 with every controller, then the
# command with its output on the second serial port, then its status on the console.
cat >"$base/vm/init2" <<'EOF'
#!/bin/sh
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root USER=root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
# /tmp gets its own tmpfs, keeping what was carried there.
mkdir /.tmp
mount -t tmpfs -o mode=1777 tmp /.tmp
cp -a /tmp/. /.tmp/
mount --move /.tmp /tmp
rmdir /.tmp
mount -t tmpfs -o mode=0755 run /run
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
	echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "cgv2-vm: cannot enable $c"
done
ip link set lo up
hostname cgv2-vm
dmesg -n 1   # keep kernel messages (OOM kills, ...) off the console
stty -F /dev/ttyS1 raw -echo
echo "cgv2-vm: start $(cut -d' ' -f1 /proc/uptime)"
. /vm/cmd
"$@" </dev/null >/dev/ttyS1 2>&1
rc=$?
echo "cgv2-vm: exit $rc $(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
EOF
chmod 0755 "$base/init" "$base/vm/init2"

# Two uncompressed newc archives, concatenated (the kernel reads both):
# unpacking is a copy, where gunzip under TCG costs seconds. The carried
# files' ancestors are listed so the kernel has each directory first.
(cd "$base" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$work/initrd"
if [ ${#carry[@]} -gt 0 ]; then
	{
		for f in "${carry[@]}"; do
			d=$(dirname "$f")
			while [ "$d" != / ]; do echo "${d#/}"; d=$(dirname "$d"); done
			(cd / && find "${f#/}")
		done
	} | LC_ALL=C sort -u | (cd / && cpio -o -H newc --quiet) >>"$work/initrd"
fi

# ttyS0 (the kernel console and the markers) goes to the log, ttyS1 (the
# command's output) to stdout. mitigations=off: page-table isolation is slow
# under TCG. hugepages=8 so that hugetlb limits can be written.
timeout=${CGV2_VM_TIMEOUT:-1200}
start=$(date +%s.%N)
set +e
timeout --foreground -k 10 "$timeout" qemu-system-x86_64 -accel tcg -M pc -cpu max \
	-smp "${CGV2_VM_SMP:-2}" -m "${CGV2_VM_MEM:-1536}" \
	-nodefaults -no-user-config -display none -no-reboot -nic none \
	-kernel "$kernel" -initrd "$work/initrd" \
	-append "console=ttyS0 panic=-1 quiet mitigations=off cgroup_no_v1=all hugepages=8" \
	-serial "file:$log" -chardev stdio,id=out -serial chardev:out </dev/null
qemu_rc=$?
set -e
wall=$(echo "$(date +%s.%N) $start" | awk '{printf "%.1f", $1 - $2}')

marks=$(tr -d '\r' <"$log" | grep -a '^cgv2-vm: ' || true)
exitline=$(grep '^cgv2-vm: exit ' <<<"$marks" || true)
if [ -z "$exitline" ]; then
	tail -n 40 "$log" | tr -d '\r' >&2
	[ -s "$log" ] || say "no kernel output at all: is CGV2_VM_MEM too small for the initramfs?"
	[ "$qemu_rc" -eq 124 ] && fail "timed out after ${timeout}s (console: $log)"
	fail "the VM stopped before the command finished (qemu exit $qemu_rc; console: $log)"
fi
grep -v '^cgv2-vm: \(start\|exit\) ' <<<"$marks" >&2 || true
read -r _ _ rc end <<<"$exitline"
boot=$(awk '/^cgv2-vm: start / {print $3}' <<<"$marks")
say "booted in ${boot}s (guest uptime), command ran $(awk "BEGIN {printf \"%.1f\", $end - $boot}")s, wall ${wall}s"
if [ "$rc" -eq 0 ]; then
	echo "cgroup v2 VM: PASS" >&2
else
	echo "cgroup v2 VM: FAIL (exit $rc)" >&2
fi
exit "$rc"
