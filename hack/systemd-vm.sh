#!/bin/bash
# Run a command as root inside a qemu VM whose PID 1 is systemd, to test
# corten's systemd cgroup driver (transient scopes over D-Bus), the engines
# under systemd, and CRIU. The host has no systemd and no usable KVM: the VM is
# Debian bookworm (systemd 252) on Debian's kernel under TCG, as hack/cgv2-vm.sh
# does for plain cgroup v2 (docs: CONFORMANCE.md, "cgroup v2 on this machine").
#
#   [CORTEN_BIN=..] [VM_FILES="F.."] hack/systemd-vm.sh [--hybrid] [--] COMMAND [ARGS...]
#
# The VM boots, systemd brings the system up, and once
# `systemctl is-system-running --wait` says running or degraded, COMMAND runs
# as root in a plain system service (corten-vm-cmd.service in system.slice: no
# sandboxing, no time limit, no delegation; the command asks systemd for its
# own units and scopes), in the host's working directory (same absolute path,
# recreated, writable), stdin /dev/null, with the host's RUST_* and CORTEN_*
# variables. Its stdout and stderr are one pipe in the VM (not a tty), copied
# to the second serial port and out on this script's stdout; the script's own
# lines go to stderr. The exit status is the command's, or 125 when the VM
# failed or timed out. Failed units of a "degraded" boot are named on stderr.
#
# Host files carried into the VM, each to its same absolute (physical) path:
#   CORTEN_BIN  the runtime (unset: target/x86_64-unknown-linux-gnu/debug/corten
#               when it exists; set empty: nothing). In the VM it names the copy.
#   VM_FILES    more files or directories, space-separated.
# Other CORTEN_* variables pass through as they are: the files they name go in
# VM_FILES. Dynamically linked binaries run: the VM is Debian bookworm like
# the host.
#
# Cgroup modes:
#   default   cgroup v2 only (systemd's unified mode): cgroup2 at /sys/fs/cgroup.
#   --hybrid  systemd.unified_cgroup_hierarchy=0, which systemd 252 makes its
#             hybrid mode (checked): every v1 controller under
#             /sys/fs/cgroup/<controller>, name=systemd at /sys/fs/cgroup/systemd,
#             and cgroup2 with no controller at /sys/fs/cgroup/unified.
#             Docker then uses its cgroupfs driver, rootless podman cgroupfs.
#
# What the image has: systemd, dbus, logind, podman, containerd, docker.io,
# runc, crun, criu, conmon, slirp4netns, fuse-overlayfs, uidmap, iproute2,
# nftables/iptables, jq, busybox-static, kmod and the kernel's own modules
# (overlay, bridge, veth, br_netfilter, nf_tables, the *_diag modules... load on
# demand). docker, containerd and podman's units are installed but not started
# at boot: a test starts them (`systemctl start docker`) or runs its own
# daemon. No network but lo (there is no registry: import images from a rootfs
# tar). Journald keeps its journal in memory. /tmp is on the (throwaway) disk,
# as in Debian. No udev (devices are devtmpfs'), no AppArmor and no SELinux
# (lsm= below), as on this host; `criu check` passes ("Looks good"), and so does
# `criu check --all` but for apparmor_stacking.
#
# The rootless tests' user, corten-it, exists with the host's uid, gid and
# subordinate ids (hack/test.sh's 200000-265535 when the host has no such
# user), and lingers: its systemd instance (user@UID.service) is up at boot, its
# bus at /run/user/UID/bus. To run something as that user, in its own manager:
#   systemd-run --machine corten-it@ --user --wait --pipe --quiet CMD...
# or from the root command's cgroup, with the user's bus:
#   runuser -u corten-it -- env XDG_RUNTIME_DIR=/run/user/$(id -u corten-it) \
#       DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$(id -u corten-it)/bus CMD...
#
# Tunables: SYSTEMD_VM_TIMEOUT (seconds the VM may run, default 1200),
# SYSTEMD_VM_MEM (MiB, 2048), SYSTEMD_VM_SMP (2).
#
# Cache: target/systemd-vm/img-HASH/ holds the kernel (an ELF vmlinux, booted
# through PVH), a small initramfs and root.img, an ext4 image of the root file
# system. HASH covers the recipe: the package list, this script's
# image-building functions, the kernel package and version, the test user and
# the apt sources; a new recipe builds a new image (a minute or two), and a run
# that finds no other run removes the old ones. Package updates in the mirror are not in the recipe: remove
# target/systemd-vm to take them. A run never writes to root.img: it boots from
# a qcow2 overlay in a temporary directory, and the run's own files (the
# command, its environment, the carried files) come on a second, read-only disk
# that is a tar archive. The last run's console (kernel, systemd, the runner's
# markers): target/systemd-vm/console.log.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
cache=$repo_root/target/systemd-vm
say() { echo "systemd-vm: $*" >&2; }
fail() {
	say "$*"
	echo "systemd VM: FAIL (VM)" >&2
	exit 125
}

hybrid=0
while [ $# -gt 0 ]; do
	case $1 in
	--hybrid) hybrid=1; shift ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--hybrid] [--] COMMAND [ARGS...]" >&2; exit 2; }

# Host tools, installed only when missing (apt needs root, and so does
# mmdebstrap's root mode).
missing=()
for pkg in qemu-system-x86 qemu-utils mmdebstrap e2fsprogs cpio file xz-utils; do
	dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi

work=$(mktemp -d /tmp/systemd-vm.XXXXXX)
qemu_pid=
# shellcheck disable=SC2317 # a trap runs it
cleanup() {
	# qemu first (it runs in the background so that a signal reaches this
	# trap at once), then whatever mmdebstrap may have left mounted.
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
	{ grep -o " $work/[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 125' INT TERM HUP

# ---------------------------------------------------------------- the recipe
# The kernel: linux-image-amd64 is a metapackage, the image is the package it
# depends on, resolved from apt's lists (no download): a new kernel in the
# mirror is a new recipe. apt-cache takes 2 seconds here, so the answer is
# kept while the lists do not change.
mkdir -p "$cache"
resolve_kernel() {
	kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
	[ -n "$kpkg" ] || return 1
	kver=$(apt-cache show --no-all-versions "$kpkg" | awk '/^Version:/ {print $2; exit}')
	[ -n "$kver" ]
}
lists_stamp() { find /var/lib/apt/lists -maxdepth 1 -type f -printf '%f %s %T@\n' | sort | sha256sum | cut -c1-16; }
save_kernel() {
	echo "$(lists_stamp) $kpkg $kver" >"$cache/kernel.$$"
	mv "$cache/kernel.$$" "$cache/kernel"
}
# update_kernel: apt-get update, then the kernel again.
update_kernel() {
	apt-get update -qq >/dev/null || true
	resolve_kernel || fail "cannot resolve linux-image-amd64 (apt-get update?)"
	save_kernel
}
# download_kernel: the package into $work/kernel. (_apt cannot write to a
# mktemp directory: apt then downloads as root, and warns.)
download_kernel() {
	rm -rf "$work/kernel" && mkdir "$work/kernel" &&
		(cd "$work/kernel" && apt-get download "$kpkg=$kver" >/dev/null 2>&1)
}
if ! { read -r stamp kpkg kver <"$cache/kernel" && [ "$stamp" = "$(lists_stamp)" ]; } 2>/dev/null; then
	if resolve_kernel; then save_kernel; else update_kernel; fi
fi

# The mirror: the host's Debian sources (deb822 or one-line), nothing else
# (other vendors' repositories stay out of the image).
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && grep -qE '^[^#]*(URIs:|deb ).*debian' "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || fail "no Debian apt source in /etc/apt/sources.list*"

# The packages. podman's and docker's recommends that matter here are named
# (mmdebstrap installs no recommends): conmon comes with podman.
packages=(systemd systemd-sysv dbus dbus-user-session libpam-systemd systemd-container
	jq criu podman containerd docker.io runc crun iproute2 procps util-linux uidmap
	busybox-static kmod slirp4netns fuse-overlayfs catatonit containernetworking-plugins
	nftables iptables xz-utils)

# The rootless tests' user: as on the host, else as hack/test.sh makes it.
if id corten-it >/dev/null 2>&1; then
	it_uid=$(id -u corten-it)
	it_gid=$(id -g corten-it)
	it_subuid=$(awk -F: '$1 == "corten-it" {print $2 ":" $3; exit}' /etc/subuid)
	it_subgid=$(awk -F: '$1 == "corten-it" {print $2 ":" $3; exit}' /etc/subgid)
else
	it_uid=1000 it_gid=1000 it_subuid='' it_subgid=''
fi
it_subuid=${it_subuid:-200000:65536}
it_subgid=${it_subgid:-200000:65536}

# ------------------------------------------------------- building the image
# Everything below down to "end of the image recipe" is hashed (declare -f):
# editing a build function rebuilds the image.

# build_kernel DIR: unpacks the kernel package downloaded into DIR to DIR/x
# and leaves the ELF vmlinux at DIR/vmlinux. The xz-packed vmlinux is
# unpacked from the bzImage so that qemu boots the ELF through its PVH entry:
# decompressing under TCG costs 2.5 seconds a boot.
build_kernel() {
	local dir=$1 bz off
	mkdir -p "$dir/x"
	dpkg-deb -x "$dir"/*.deb "$dir/x"
	bz=$(ls "$dir"/x/boot/vmlinuz-*)
	off=$(LC_ALL=C grep -abo -m1 $'\xfd7zXZ\x00' "$bz" | head -n1 | cut -d: -f1)
	[ -n "$off" ] || fail "$bz: no xz payload (the kernel is no longer xz-packed?)"
	# xz complains about the bytes after the stream: they are not the kernel.
	tail -c +$((off + 1)) "$bz" | xz -dc >"$dir/vmlinux" 2>/dev/null || true
	file -b "$dir/vmlinux" | grep -q '^ELF 64-bit' || fail "$bz: cannot unpack vmlinux"
}

# build_rootfs KDIR ROOT: the Debian tree, with the kernel's modules.
build_rootfs() {
	local kdir=$1 root=$2 uname u
	# Docs, man pages and translations stay out (dpkg filters): a smaller
	# image is a faster mkfs and less to cache.
	mmdebstrap --quiet --variant=minbase --mode=root --format=directory \
		--include="$(IFS=,; echo "${packages[*]}")" \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		bookworm "$root" "${sources[@]}" >"$kdir/mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$kdir/mmdebstrap.log" >&2; fail "mmdebstrap failed"; }

	# The modules of the kernel that boots, unpacked (the package is not
	# installed: no initramfs-tools, no postinst). Hardware this VM never has
	# (sound, GPUs, wireless, USB, ...) is left out: 200 MB less.
	uname=$(ls "$kdir/x/lib/modules")
	mkdir -p "$root/usr/lib/modules"
	cp -a "$kdir/x/lib/modules/$uname" "$root/usr/lib/modules/"
	(cd "$root/usr/lib/modules/$uname/kernel" && rm -rf sound drivers/gpu drivers/media \
		drivers/net/wireless drivers/net/ethernet drivers/infiniband drivers/iio drivers/staging \
		drivers/comedi drivers/bluetooth drivers/usb drivers/isdn drivers/hwmon drivers/video \
		net/wireless net/mac80211 net/bluetooth)
	cp "$kdir"/x/boot/config-* "$root/boot/"
	chroot "$root" depmod "$uname"

	# Identity. A fixed machine-id: an empty or missing one is a "first boot"
	# to systemd (presets applied to every unit, firstboot asks questions).
	echo systemd-vm >"$root/etc/hostname"
	printf '127.0.0.1 localhost systemd-vm\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
	tr -d '-' </proc/sys/kernel/random/uuid >"$root/etc/machine-id"
	# The root file system is mounted by the initramfs, read-write: nothing
	# for systemd-remount-fs to do.
	echo '# / is mounted by the initramfs (hack/systemd-vm.sh)' >"$root/etc/fstab"

	# The test user, lingering: logind starts user@UID.service at boot.
	chroot "$root" groupadd -g "$it_gid" corten-it
	chroot "$root" useradd -m -u "$it_uid" -g "$it_gid" -s /bin/bash corten-it
	echo "corten-it:$it_subuid" >"$root/etc/subuid"
	echo "corten-it:$it_subgid" >"$root/etc/subgid"
	mkdir -p "$root/var/lib/systemd/linger"
	touch "$root/var/lib/systemd/linger/corten-it"

	# Boot time. The engines are installed but not started at boot (tests
	# start them with their own configuration): disabled, not masked, so that
	# `systemctl start docker` works. Timers and units that are useless in a
	# throwaway VM are masked, and so are the gettys (the consoles are the
	# runner's).
	chroot "$root" systemctl disable --quiet docker.service docker.socket containerd.service \
		podman.service podman.socket podman-restart.service podman-auto-update.service \
		podman-auto-update.timer
	chroot "$root" systemctl mask --quiet apt-daily.timer apt-daily-upgrade.timer \
		apt-daily.service apt-daily-upgrade.service dpkg-db-backup.timer e2scrub_all.timer \
		e2scrub_reap.service fstrim.timer systemd-tmpfiles-clean.timer systemd-pstore.service \
		getty@tty1.service serial-getty@ttyS0.service serial-getty@ttyS1.service \
		systemd-networkd-wait-online.service systemd-timesyncd.service \
		systemd-remount-fs.service
	# Under TCG every process started costs tenths of a second: what
	# systemd-analyze blame showed and nothing here needs. binfmt_misc, the
	# debug, tracing and configfs mounts, modules loaded ahead of need (the
	# kernel loads them through modprobe on first use: /dev/fuse and
	# /dev/loop-control are static nodes that do), system users already made
	# by the packages, a random seed (RDRAND seeds the kernel), utmp.
	chroot "$root" systemctl mask --quiet systemd-binfmt.service \
		proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
		sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount \
		sys-fs-fuse-connections.mount modprobe@drm.service modprobe@dm_mod.service \
		modprobe@loop.service modprobe@fuse.service modprobe@configfs.service \
		systemd-modules-load.service systemd-sysusers.service systemd-random-seed.service \
		systemd-update-utmp.service systemd-update-utmp-runlevel.service
	# Generators run before systemd loads any unit, one process each: only
	# fstab's and the debug one (systemd.mask= and the like on the kernel
	# command line) are of use here. A link to /dev/null masks one.
	mkdir -p "$root/etc/systemd/system-generators"
	for u in systemd-gpt-auto-generator systemd-sysv-generator systemd-rc-local-generator \
		systemd-cryptsetup-generator systemd-veritysetup-generator \
		systemd-integritysetup-generator systemd-hibernate-resume-generator \
		systemd-bless-boot-generator systemd-system-update-generator systemd-getty-generator \
		systemd-run-generator; do
		ln -s /dev/null "$root/etc/systemd/system-generators/$u"
	done
	# The user instance: gpg-agent's sockets are of no use.
	rm -rf "$root/etc/systemd/user/sockets.target.wants"
	mkdir -p "$root/etc/systemd/journald.conf.d"
	printf '[Journal]\nStorage=volatile\n' >"$root/etc/systemd/journald.conf.d/systemd-vm.conf"

	# A boot that drops to the emergency or rescue shell says so on the
	# console and powers off: no one is there to type, the run would only
	# time out.
	for u in emergency rescue; do
		mkdir -p "$root/etc/systemd/system/$u.service.d"
		cat >"$root/etc/systemd/system/$u.service.d/systemd-vm.conf" <<-EOF
			[Service]
			ExecStart=
			ExecStart=/bin/sh -c 'echo "systemd-vm: vm-error $u mode"; systemctl --no-pager --failed; systemctl poweroff -ff'
			StandardOutput=tty
			StandardError=inherit
		EOF
	done

	# The runner. Type=simple, so that its start job ends at once and the
	# boot can finish while it waits for it (a oneshot ordered after
	# multi-user.target would hold the boot it waits for). No sandboxing, no
	# time limit, default Delegate=no: the command talks to systemd for its
	# cgroups. Its stdout is the console (the markers), and its safety net
	# powers the VM off should it die before it does.
	cat >"$root/etc/systemd/system/corten-vm-cmd.service" <<-'EOF'
		[Unit]
		Description=Run hack/systemd-vm.sh's command
		After=basic.target

		[Service]
		Type=simple
		ExecStart=/usr/local/libexec/systemd-vm-run
		ExecStopPost=-/bin/sh -c 'echo "systemd-vm: vm-error the runner stopped ($SERVICE_RESULT)"; systemctl poweroff -ff'
		TimeoutStartSec=infinity
		TimeoutStopSec=10
		StandardInput=null
		StandardOutput=tty
		StandardError=inherit
		TTYPath=/dev/ttyS0
		TTYReset=no
		TTYVHangup=no

		[Install]
		WantedBy=multi-user.target
	EOF
	chroot "$root" systemctl enable --quiet corten-vm-cmd.service

	mkdir -p "$root/usr/local/libexec"
	cat >"$root/usr/local/libexec/systemd-vm-run" <<-'EOF'
		#!/bin/bash
		# hack/systemd-vm.sh's runner, started at boot by corten-vm-cmd.service:
		# unpacks the run's files, waits for the boot to finish, runs the
		# command with its output on the second serial port, says how it went
		# on the console (the first one) and powers off.
		set -u
		mark() { echo "systemd-vm: $*"; }
		up() { cut -d' ' -f1 /proc/uptime; }
		off() {
			# stty sets with TCSADRAIN: what was written reaches qemu first.
			stty -F /dev/ttyS1 raw -echo 2>/dev/null
			stty -F /dev/ttyS0 -echo 2>/dev/null
			systemctl poweroff -ff
			sleep 60
		}
		vmerror() { mark "vm-error $*"; off; }

		# The run's files: a tar archive as a raw disk, found by its serial
		# (there is no udev). It is unpacked at / after sysinit
		# (systemd-tmpfiles has emptied /tmp by then).
		data=
		for d in /sys/block/vd*; do
			[ "$(cat "$d/serial" 2>/dev/null)" = systemd-vm-data ] && data=/dev/${d##*/}
		done
		[ -n "$data" ] || vmerror "no disk with the run's files"
		tar -x -p --numeric-owner -f "$data" -C / || vmerror "cannot unpack the run's files"

		state=$(timeout 900 systemctl is-system-running --wait)
		case $state in
		running | degraded) ;;
		*)
			systemctl --no-pager list-jobs
			vmerror "the boot did not finish: ${state:-timeout}"
			;;
		esac
		systemctl --no-legend --plain list-units --failed | while read -r unit _; do
			mark "failed unit $unit"
		done
		mark "ready $state $(up)"

		# The command: in the host's working directory, with its environment,
		# and none of the service's own.
		unset INVOCATION_ID JOURNAL_STREAM SYSTEMD_EXEC_PID TERM
		export HOME=/root USER=root LOGNAME=root SHELL=/bin/bash
		# Its stdout and stderr are a pipe, as they mostly are on the host
		# (no tty: no colours, no columns), which cat copies to the second
		# serial port. cat, not the runner, opens the tty: the runner is a
		# session leader and would get it as its controlling terminal. Once
		# the command is done, what it left running may hold the pipe open:
		# cat gets 3 seconds to copy what is in it.
		stty -F /dev/ttyS1 raw -echo
		mkfifo /run/systemd-vm/out
		cat /run/systemd-vm/out >/dev/ttyS1 &
		cat=$!
		. /run/systemd-vm/cmd
		(exec "$@") </dev/null >/run/systemd-vm/out 2>&1
		rc=$?
		kill -0 "$cat" 2>/dev/null && timeout 3 tail -s 0.1 --pid="$cat" -f /dev/null
		kill "$cat" 2>/dev/null
		mark "exit $rc $(up)"
		off
	EOF
	chmod 0755 "$root/usr/local/libexec/systemd-vm-run"
}

# build_initrd ROOT OUT: the initramfs, busybox and the modules that mount the
# root disk (virtio-blk and ext4 are modules in Debian's kernel), one
# uncompressed newc archive: unpacking is a copy, where gunzip under TCG costs
# seconds.
build_initrd() {
	local root=$1 out=$2 uname mods dir m line dep
	uname=$(ls "$root/usr/lib/modules")
	mods=$root/usr/lib/modules/$uname
	dir=$(mktemp -d "$work/initrd.XXXXXX")
	mkdir -p "$dir"/{bin,dev,proc,sys,newroot,mod}
	cp "$root/usr/bin/busybox" "$dir/bin/busybox"
	# The load order: each module's dependencies (modules.dep lists them so
	# that loading from the last to the first works), then the module.
	# ext4 wants crc32c through the crypto API (a softdep the kernel cannot
	# request without modprobe): the generic one, and the SSE4.2 one, which
	# may fail on a CPU without it.
	local order=() seen=" "
	for m in crc32c-intel crc32c_generic virtio_pci virtio_blk ext4; do
		line=$(grep -E "/$m\.ko:" "$mods/modules.dep") || fail "module $m not found"
		read -ra deps <<<"${line#*:}"
		for ((i = ${#deps[@]} - 1; i >= -1; i--)); do
			if [ "$i" -ge 0 ]; then dep=${deps[i]}; else dep=${line%%:*}; fi
			case $seen in *" $dep "*) continue ;; esac
			seen+="$dep "
			order+=("$dep")
			cp "$mods/$dep" "$dir/mod/"
		done
	done
	printf '%s\n' "${order[@]##*/}" >"$dir/mod/order"

	# Mount the root disk and hand over to systemd. /dev (devtmpfs) moves
	# along; proc and sys are systemd's to mount.
	cat >"$dir/init" <<-'EOF'
		#!/bin/busybox sh
		b=/bin/busybox
		$b mount -t devtmpfs dev /dev
		exec </dev/console >/dev/console 2>&1
		$b mount -t proc proc /proc
		for m in $($b cat /mod/order); do
			$b insmod /mod/$m 2>/dev/null || [ $m = crc32c-intel.ko ] || echo "systemd-vm: vm-error insmod $m"
		done
		for i in $($b seq 100); do [ -b /dev/vda ] && break; $b sleep 0.05; done
		# noinit_itable: no zeroing of inode tables in the background (the
		# writes would go to the overlay, under TCG).
		$b mount -t ext4 -o rw,noatime,noinit_itable /dev/vda /newroot ||
			{ echo "systemd-vm: vm-error cannot mount the root disk"; $b poweroff -f; }
		$b umount /proc
		$b mount --move /dev /newroot/dev
		exec $b switch_root /newroot /sbin/init
		EOF
	chmod 0755 "$dir/init"
	(cd "$dir" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out"
}

# build_image DIR: DIR/vmlinux, DIR/initrd, DIR/root.img. The ext4 image has
# room for the tests' images and containers (sparse: only what is written
# takes space); no journal (a run's writes are thrown away), inode tables
# zeroed here rather than by the guest's lazy init.
build_image() {
	local out=$1 kdir=$work/kernel root=$work/root
	say "building the image (kernel $kpkg $kver; about a minute, once)"
	build_kernel "$kdir"
	build_rootfs "$kdir" "$root"
	build_initrd "$root" "$out/initrd"
	mkfs.ext4 -q -F -L systemd-vm -O ^has_journal -E lazy_itable_init=0,root_owner=0:0 \
		-d "$root" "$out/root.img" 8G >/dev/null
	mv "$kdir/vmlinux" "$out/vmlinux"
	rm -rf "$root" "$kdir"
}
# end of the image recipe

recipe() {
	echo "systemd-vm image 1"
	echo "kernel $kpkg $kver"
	echo "packages ${packages[*]}"
	echo "corten-it $it_uid $it_gid $it_subuid $it_subgid"
	cat "${sources[@]}"
	declare -f build_kernel build_rootfs build_initrd build_image
}
hash=$(recipe | sha256sum | cut -c1-16)
img=$cache/img-$hash
# Each run holds the lock shared until it ends (qemu inherits it), so that no
# image is removed under a run. The images of other recipes are removed by a
# run that finds no other run.
exec 9>>"$cache/lock"
if flock -n -x 9; then
	find "$cache" -maxdepth 1 -name 'img-*' ! -name "img-$hash" -exec rm -rf {} +
fi
flock -s 9
if [ ! -f "$img/root.img" ]; then
	# One build at a time; a run that waited finds the image built.
	exec 8>>"$cache/build.lock"
	flock -x 8
	if [ ! -f "$img/root.img" ]; then
		t0=$(date +%s)
		# A mirror drops a kernel package when a new one comes: with lists
		# older than that, update them, and the recipe may change.
		if ! download_kernel; then
			update_kernel
			hash=$(recipe | sha256sum | cut -c1-16)
			img=$cache/img-$hash
			[ -f "$img/root.img" ] || download_kernel || fail "cannot download $kpkg $kver"
		fi
	fi
	if [ ! -f "$img/root.img" ]; then
		new=$cache/.new-$hash
		# What an interrupted build left.
		rm -rf "$cache"/.new-*
		mkdir -p "$new"
		build_image "$new" >&2
		recipe >"$new/recipe"
		mv "$new" "$img"
		say "image built in $(($(date +%s) - t0))s: $img"
	fi
	exec 8>&-
fi

# ---------------------------------------------------------------- this run
# The files to carry, as absolute physical paths.
carry=()
envs=()
for var in $(compgen -e | grep -E '^(RUST_|CORTEN_)' || true); do
	[ "$var" = CORTEN_BIN ] || envs+=("$var=${!var}")
done
if [ -n "${CORTEN_BIN:-}" ]; then
	p=$(realpath -e "$CORTEN_BIN") || fail "CORTEN_BIN=$CORTEN_BIN does not exist"
elif [ -z "${CORTEN_BIN+set}" ] && [ -e "$repo_root/target/x86_64-unknown-linux-gnu/debug/corten" ]; then
	p=$(realpath -e "$repo_root/target/x86_64-unknown-linux-gnu/debug/corten")
else
	p=
fi
if [ -n "$p" ]; then
	carry+=("$p")
	envs+=("CORTEN_BIN=$p")
fi
for f in ${VM_FILES:-}; do
	p=$(realpath -e "$f") || fail "VM_FILES: $f does not exist"
	[ "$p" != / ] || fail "VM_FILES: cannot carry /"
	carry+=("$p")
done

# The command file, sourced by the runner (bash): printf %q quotes for it.
mkdir "$work/systemd-vm-meta"
{
	printf 'mkdir -p %q && cd %q || exit 125\n' "$(pwd -P)" "$(pwd -P)"
	for e in "${envs[@]}"; do printf 'export %q\n' "$e"; done
	printf 'set --'
	printf ' %q' "$@"
	echo
} >"$work/systemd-vm-meta/cmd"
# One archive: the command file (renamed into /run/systemd-vm) and the carried
# files, relative to /.
rel=()
for p in "${carry[@]}"; do rel+=("${p#/}"); done
tar -c --numeric-owner -f "$work/data.tar" --transform 's,^systemd-vm-meta/,run/systemd-vm/,' \
	-C "$work" systemd-vm-meta/cmd ${rel[@]+-C / "${rel[@]}"}

# The run's root disk: a copy-on-write overlay over the cached image.
qemu-img create -q -f qcow2 -b "$img/root.img" -F raw "$work/root.qcow2"

# ttyS0 (the kernel console, systemd's messages and the runner's markers)
# goes to the log, ttyS1 (the command's output) to stdout. mitigations=off:
# page-table isolation is slow under TCG. cache=unsafe: the overlay is thrown
# away, flushes need not reach the host's disk. tsc=reliable: TCG's TSCs do
# not look synchronised to the kernel, which then reads the clock from the
# emulated HPET, and every clock_gettime is a system call (a second of boot).
# lsm=: Debian's list of security modules without AppArmor (on in Debian's
# kernel: docker then wants apparmor_parser and gives containers a profile)
# and without SELinux (next in line when AppArmor is off, with no policy).
append="console=ttyS0 panic=-1 quiet mitigations=off tsc=reliable"
append+=" lsm=landlock,lockdown,yama,integrity,bpf"
if [ "$hybrid" = 1 ]; then
	append+=" systemd.unified_cgroup_hierarchy=0"
	mode=hybrid
else
	append+=" systemd.unified_cgroup_hierarchy=1"
	mode=v2
fi
log=$work/console.log
timeout=${SYSTEMD_VM_TIMEOUT:-1200}
start=$(date +%s.%N)
set +e
timeout --foreground -k 10 "$timeout" qemu-system-x86_64 -accel tcg -M pc -cpu max \
	-smp "${SYSTEMD_VM_SMP:-2}" -m "${SYSTEMD_VM_MEM:-2048}" \
	-nodefaults -no-user-config -display none -no-reboot -nic none \
	-kernel "$img/vmlinux" -initrd "$img/initrd" -append "$append" \
	-drive "file=$work/root.qcow2,format=qcow2,if=none,id=root,cache=unsafe" \
	-device virtio-blk-pci,drive=root \
	-drive "file=$work/data.tar,format=raw,if=none,id=data,readonly=on" \
	-device virtio-blk-pci,drive=data,serial=systemd-vm-data \
	-serial "file:$log" -chardev stdio,id=out -serial chardev:out </dev/null &
qemu_pid=$!
wait "$qemu_pid"
qemu_rc=$?
qemu_pid=
set -e
wall=$(echo "$(date +%s.%N) $start" | awk '{printf "%.1f", $1 - $2}')
cp "$log" "$cache/console.log"
log=$cache/console.log

marks=$(tr -d '\r' <"$log" | grep -ao 'systemd-vm: .*' || true)
grep -E '^systemd-vm: (vm-error|failed unit) ' <<<"$marks" >&2 || true
exitline=$(grep '^systemd-vm: exit ' <<<"$marks" || true)
if [ -z "$exitline" ]; then
	tail -n 40 "$log" | tr -d '\r' >&2
	[ "$qemu_rc" -eq 124 ] && fail "timed out after ${timeout}s (console: $log)"
	fail "the VM stopped before the command finished (qemu exit $qemu_rc; console: $log)"
fi
read -r _ _ rc end <<<"$exitline"
read -r _ _ state ready <<<"$(grep '^systemd-vm: ready ' <<<"$marks")"
say "$mode: systemd $state at ${ready}s (guest uptime), command ran $(awk "BEGIN {printf \"%.1f\", $end - $ready}")s, wall ${wall}s"
if [ "$rc" -eq 0 ]; then
	echo "systemd VM ($mode): PASS" >&2
else
	echo "systemd VM ($mode): FAIL (exit $rc)" >&2
fi
exit "$rc"
