#!/bin/bash
# Build a minimal busybox root filesystem from Debian's busybox-static package,
# without installing anything on the host.
#
#   hack/mkrootfs.sh [--force] [--probe PATH] [DEST]
#
# DEST defaults to bundles/busybox/rootfs (relative to the repository root).
# The .deb is taken from /var/cache/apt/archives if it is there, else fetched
# with `apt-get download` into a temporary directory (running `apt-get update`
# only if that fails). If DEST/bin/busybox already holds the same busybox
# version, nothing is rebuilt unless --force is given. --probe PATH copies the
# (static) probe binary to DEST/bin/probe, every time.
set -euo pipefail

usage() {
	echo "usage: $0 [--force] [--probe PATH] [DEST]" >&2
	exit 2
}

repo_root=$(cd "$(dirname "$0")/.." && pwd)
dest=""
force=0
probe=""
while [ $# -gt 0 ]; do
	case "$1" in
	--force) force=1 ;;
	--probe)
		[ $# -ge 2 ] || usage
		probe=$2
		shift
		;;
	--probe=*) probe=${1#--probe=} ;;
	-h | --help) usage ;;
	-*) usage ;;
	*)
		[ -z "$dest" ] || usage
		dest=$1
		;;
	esac
	shift
done
dest=$(realpath -m "${dest:-$repo_root/bundles/busybox/rootfs}")
[ -z "$probe" ] || probe=$(realpath -m "$probe")

log() { echo "mkrootfs: $*" >&2; }

if [ -n "$probe" ] && [ ! -f "$probe" ]; then
	log "probe binary $probe not found"
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# apt-get download drops privileges to _apt and warns if that user cannot write there.
chmod 755 "$tmp"
mkdir "$tmp/dl"
chown _apt "$tmp/dl" 2>/dev/null || chmod 777 "$tmp/dl"

# Version of the busybox already in DEST: its banner reads
# "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary."
installed_version() {
	[ -x "$dest/bin/busybox" ] || return 0
	"$dest/bin/busybox" 2>/dev/null | sed -n '1s/^BusyBox .*(Debian \([^)]*\)).*/\1/p' || true
}

cached_deb() {
	# Newest cached busybox-static .deb for this architecture, if any.
	local arch debs
	arch=$(dpkg --print-architecture)
	debs=(/var/cache/apt/archives/busybox-static_*_"$arch".deb)
	[ -f "${debs[0]}" ] || return 0
	printf '%s\n' "${debs[@]}" | sort -V | tail -n 1
}

candidate_version() {
	apt-cache policy busybox-static 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '(none)' || true
}

find_deb() {
	local deb
	deb=$(cached_deb)
	if [ -n "$deb" ]; then
		echo "$deb"
		return
	fi
	if ! (cd "$tmp/dl" && apt-get download busybox-static >&2); then
		log "apt-get download failed; running apt-get update"
		apt-get update >&2 || return 1
		(cd "$tmp/dl" && apt-get download busybox-static >&2) || return 1
	fi
	local got=("$tmp"/dl/busybox-static_*.deb)
	echo "${got[0]}"
}

have=$(installed_version)
if [ "$force" = 0 ] && [ -n "$have" ]; then
	deb=$(cached_deb)
	if [ -n "$deb" ]; then
		want=$(dpkg-deb -f "$deb" Version)
	else
		want=$(candidate_version)
	fi
	if [ "$have" = "$want" ]; then
		log "$dest already has busybox $have (use --force to rebuild)"
		skip=1
	fi
fi

if [ "${skip:-0}" = 0 ]; then
	deb=$(find_deb) || true
	if [ -z "$deb" ] || [ ! -f "$deb" ]; then
		log "could not get the busybox-static package"
		exit 1
	fi
	log "using $deb"
	dpkg-deb -x "$deb" "$tmp/x"
	bb=$tmp/x/bin/busybox
	[ -x "$bb" ] || {
		log "no bin/busybox in $deb"
		exit 1
	}

	mkdir -p "$dest"
	cd "$dest"
	mkdir -p bin dev proc sys etc home run var/tmp var/log root tmp usr
	chmod 0755 bin dev proc sys etc home run var var/log usr
	chmod 0700 root
	chmod 1777 tmp var/tmp
	# Everything lives in bin/; the usual other directories point there.
	for l in sbin usr/bin usr/sbin; do
		rm -rf "$l"
		case "$l" in
		usr/*) ln -s ../bin "$l" ;;
		*) ln -s bin "$l" ;;
		esac
	done

	rm -f bin/busybox
	for applet in $("$bb" --list); do
		[ "$applet" = busybox ] && continue
		ln -sfn busybox "bin/$applet"
	done

	cat >etc/passwd <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		daemon:x:1:1:daemon:/usr/sbin:/bin/false
		bin:x:2:2:bin:/bin:/bin/false
		sys:x:3:3:sys:/dev:/bin/false
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >etc/group <<-'EOF'
		root:x:0:
		daemon:x:1:
		bin:x:2:
		sys:x:3:
		adm:x:4:
		tty:x:5:
		disk:x:6:
		wheel:x:10:root
		audio:x:29:
		video:x:44:
		users:x:100:
		nobody:x:65534:
	EOF
	echo corten >etc/hostname
	cat >etc/hosts <<-'EOF'
		127.0.0.1	localhost
		::1	localhost ip6-localhost ip6-loopback
	EOF
	chmod 0644 etc/passwd etc/group etc/hostname etc/hosts

	# The binary goes in last: its presence marks a complete rootfs.
	install -m 0755 "$bb" bin/busybox.tmp
	mv -f bin/busybox.tmp bin/busybox
	log "built $dest with busybox $("$dest/bin/busybox" | sed -n '1s/^BusyBox \(v[^ ]*\).*/\1/p')"
fi

if [ -n "$probe" ]; then
	if command -v file >/dev/null && ! file -L "$probe" | grep -q 'static'; then
		log "warning: $probe does not look statically linked; it may not run in the rootfs"
	fi
	install -m 0755 "$probe" "$dest/bin/probe.tmp"
	mv -f "$dest/bin/probe.tmp" "$dest/bin/probe"
	log "installed probe as $dest/bin/probe"
fi
