#!/bin/bash
# Fetch Debian's busybox-static for i386 (a 32-bit static binary) for the
# seccomp test that runs it under an x86_64 profile listing SCMP_ARCH_X86.
#
#   hack/i386-busybox.sh [DEST]     (default: target/i386/busybox)
#
# Nothing is installed and dpkg's architectures are left alone: apt reads the
# i386 index for this one download (APT::Architectures), and the binary is
# unpacked from the .deb. A DEST already there is kept.
set -euo pipefail

repo_root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$repo_root/target/i386/busybox}
[ -x "$dest" ] && exit 0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
apt_i386=(-o APT::Architectures="amd64,i386")
if ! apt-get "${apt_i386[@]}" download busybox-static:i386 >/dev/null 2>&1; then
	apt-get "${apt_i386[@]}" update -qq >/dev/null 2>&1 || true
	apt-get "${apt_i386[@]}" download busybox-static:i386 >/dev/null
fi
dpkg-deb -x busybox-static_*_i386.deb unpacked
mkdir -p "$(dirname "$dest")"
install -m 0755 unpacked/bin/busybox "$dest"
