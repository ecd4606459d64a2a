#!/usr/bin/env bash
# Checks that corten installs as runc does (issue 16): `make install` lays
# out exactly the binary, one man page per command and the three shell
# completions; every page renders without a warning; bash completes
# `corten de` to `delete`; `make uninstall` takes it all away again; and
# the Debian package installs, runs a container from /usr/bin, and leaves
# nothing behind once removed. Run by hack/test.sh; needs root (dpkg).
#
#   hack/install-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d /tmp/corten-install.XXXXXX)
installed=
cleanup() {
	if [ -n "$installed" ]; then dpkg -r corten >/dev/null 2>&1 || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "hack/install-test.sh: $*" >&2
	exit 1
}

echo "-- make install DESTDIR=..."
make -s install CARGO='cargo -q' DESTDIR="$tmp/root" >/dev/null
# The commands, as the binary itself lists them (not the generator).
commands=$(target/x86_64-unknown-linux-gnu/release/corten --help |
	sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p' | grep -vx help)
[ -n "$commands" ] || fail "no commands in corten --help"
{
	echo ./usr/local/bin/corten
	echo ./usr/local/share/man/man8/corten.8
	for c in $commands; do echo "./usr/local/share/man/man8/corten-$c.8"; done
	echo ./usr/local/share/bash-completion/completions/corten
	echo ./usr/local/share/zsh/site-functions/_corten
	echo ./usr/local/share/fish/vendor_completions.d/corten.fish
} | sort >"$tmp/expected"
(cd "$tmp/root" && find . -type f | sort) >"$tmp/got"
diff -u "$tmp/expected" "$tmp/got" || fail "make install laid out other files"

echo "-- man pages render without warnings"
for page in "$tmp"/root/usr/local/share/man/man8/*.8; do
	warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
	[ -z "$warnings" ] || fail "$(basename "$page"): $warnings"
done

echo "-- bash completes 'corten de' to 'delete'"
got=$(bash -c 'source "$1"; COMP_WORDS=(corten de); COMP_CWORD=1; COMP_LINE="corten de";
	COMP_POINT=9; _corten corten de corten; echo "${COMPREPLY[*]}"' sh \
	"$tmp/root/usr/local/share/bash-completion/completions/corten")
[ "$got" = delete ] || fail "bash completion of 'corten de': '$got'"

echo "-- make uninstall"
make -s uninstall CARGO='cargo -q' DESTDIR="$tmp/root" >/dev/null
left=$(find "$tmp/root" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"

echo "-- make deb, dpkg -i, a container from /usr/bin, dpkg -r"
if dpkg -s corten >/dev/null 2>&1; then
	fail "a corten package is installed already: not replacing it"
fi
make -s deb CARGO='cargo -q' >/dev/null
deb=$(ls target/deb/corten_*.deb)
dpkg -i "$deb" >/dev/null
installed=1
/usr/bin/corten --version | grep -q '^corten version ' || fail "corten --version from /usr/bin"
man -w corten-run >/dev/null || fail "man corten-run is not found"
mkdir -p "$tmp/bundle"
python3 - "$PWD/bundles/busybox" "$tmp/bundle/config.json" <<'PY'
import json, sys
bundle, out = sys.argv[1], sys.argv[2]
c = json.load(open(bundle + "/config.json"))
c["root"]["path"] = bundle + "/rootfs"
c["process"]["args"] = ["echo", "hello from the package"]
c["process"]["terminal"] = False
json.dump(c, open(out, "w"))
PY
out=$(/usr/bin/corten --root "$tmp/state" run --bundle "$tmp/bundle" "install-test-$$" </dev/null)
[ "$out" = "hello from the package" ] || fail "the demo container printed '$out'"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' | grep -v '/$' >"$tmp/files"
dpkg -r corten >/dev/null
installed=
while read -r f; do
	[ ! -e "$f" ] || fail "dpkg -r left $f"
done <"$tmp/files"
! dpkg -s corten >/dev/null 2>&1 || fail "the package is still installed"
echo "-- install checks passed"
