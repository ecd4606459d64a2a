#!/usr/bin/env bash
# Runs every test of corten: installs what a fresh Debian machine lacks,
# checks formatting and lints, builds the runtime, the static probe and the
# busybox rootfs, then runs the unit and integration tests, checks make
# install and the Debian package (hack/install-test.sh), fuzzes the parsers
# for a minute each (hack/fuzz.sh), runs the cgroup, exec, lifecycle and
# rootless tests again in a cgroup v2 VM, and the engine suites. Needs root (the
# integration tests create real containers).
#
#   hack/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "hack/test.sh: the integration tests create containers: run as root" >&2
	exit 1
fi

# Debian packages the tests use (dpkg-deb and apt-get come with the system):
# ps(1) for `corten ps`, unshare(1) and mount(8) for namespace and full-disk tests,
# script(1) (bsdutils) to give the terminal tests a terminal, libseccomp-dev (its
# static library) as the oracle of the seccomp differential tests, uidmap
# (newuidmap/newgidmap) for rootless containers with several id mappings,
# strace for the test that a bind is never remounted by path, runc (Debian's
# 1.1.5) as the reference of the differential tests (integration-tests/tests/differential.rs),
# make and man-db for the install checks (hack/install-test.sh), dbus-daemon
# as the peer of the D-Bus client's unit test (the systemd driver's client).
missing=()
for pkg in ca-certificates procps util-linux mount bsdutils libseccomp-dev uidmap strace runc make man-db dbus-daemon; do
	dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
# The rootless tests run the runtime as this user, with subordinate ids.
id corten-it >/dev/null 2>&1 || useradd --create-home --shell /bin/sh corten-it
grep -q '^corten-it:' /etc/subuid || usermod --add-subuids 200000-265535 corten-it
grep -q '^corten-it:' /etc/subgid || usermod --add-subgids 200000-265535 corten-it
# Toolchain components for the lint step.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
	rustup component add rustfmt clippy
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== build: corten, the static probe, the busybox rootfs"
cargo build -p corten
cargo build -q --release -p corten-probe   # static: .cargo/config.toml
hack/mkrootfs.sh bundles/busybox/rootfs
hack/i386-busybox.sh   # a 32-bit binary for the seccomp tests
echo "== tests"
# Includes the differential tests against runc (--test differential).
cargo test --workspace
echo "== install: make install/uninstall, man pages, completions, the Debian package"
hack/install-test.sh
echo "== fuzz"
# Every target of fuzz/ for 30 s each, one after another (FUZZ_SECONDS; the
# systemd VM stage below took the other half of the minute each had).
FUZZ_SECONDS=${FUZZ_SECONDS:-30} hack/fuzz.sh
echo "== cgroup v2: the cgroups, exec, lifecycle and rootless tests in a VM with cgroup2 only"
# This host is hybrid (v1 controllers): the v2 driver is tested in a qemu VM
# (hack/cgv2-vm.sh) running the same test binaries. The VM has the rootless
# tests' user but no newuidmap (a dynamic setuid binary): that test stays out.
v2tests=$(cargo test -q -p corten-integration-tests --test cgroups --test exec --test lifecycle \
	--test rootless --no-run --message-format=json | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tr '\n' ' ')
VM_USERS=corten-it VM_FILES=$v2tests hack/cgv2-vm.sh sh -c \
	'for t; do "$t" --test-threads=1 --skip subordinate_ranges || exit 1; done' sh $v2tests
echo "== systemd: the systemd cgroup driver and the engines under systemd, in a VM that boots systemd"
# No systemd here: hack/systemd-vm.sh boots Debian bookworm with systemd as
# PID 1 (an image cached under target/systemd-vm, built in about a minute),
# once with cgroup v2 and once in systemd's hybrid mode. In each: the
# driver's tests (CORTEN_IT_SYSTEMD=required: none may pass by skipping;
# their runtime prints its D-Bus traffic, CORTEN_DBUS_TRACE, shown if one
# fails), then podman (root; rootless on v2), containerd and Docker with
# their systemd cgroup settings (integration-tests/e2e/systemd.sh).
tests_of() {
	cargo test -q -p corten-integration-tests --test "$1" --no-run --message-format=json |
		sed -n 's/.*"executable":"\([^"]*\)".*/\1/p'
}
sdtests=$(tests_of systemd)
for mode in v2 hybrid; do
	flags=()
	[ "$mode" = hybrid ] && flags=(--hybrid)
	CORTEN_IT_SYSTEMD=required \
		VM_FILES="$sdtests target/x86_64-unknown-linux-gnu/release/probe bundles/busybox/rootfs integration-tests/e2e" \
		hack/systemd-vm.sh "${flags[@]}" sh -c \
		'CORTEN_DBUS_TRACE=1 "$1" --test-threads=1 && integration-tests/e2e/systemd.sh' sh "$sdtests"
done
echo "== engines end to end"
integration-tests/e2e/podman.sh
integration-tests/e2e/containerd.sh
integration-tests/e2e/docker.sh
