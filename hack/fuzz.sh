#!/usr/bin/env bash
# Fuzzes corten's parsers of outside input (fuzz/: cargo-fuzz with
# libFuzzer): builds every target, then runs each in turn for FUZZ_SECONDS
# (default 60) from its seeds in fuzz/seeds/<target>. Fails when a target
# panics, overflows, leaks, outgrows its memory limit or hangs; the input
# is then in fuzz/artifacts/<target>/ (add it to the seeds and make it a
# unit test beside the parser, named after the bug).
#
#   hack/fuzz.sh                                # every target, 60 s each
#   FUZZ_SECONDS=600 hack/fuzz.sh seccomp config
#   FUZZ_CORPUS=keep hack/fuzz.sh               # grow fuzz/corpus/<target> across runs
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	targets=(config seccomp proc_text argv state mount_options)
fi

# cargo-fuzz from crates.io (about 50 s to build on 2 cores). The whole
# stage took 10 min on a loaded 2-core machine: 4 of them the clean build.
if ! cargo fuzz --version >/dev/null 2>&1; then
	cargo install cargo-fuzz --version 0.13.2 --locked
fi

# The machine has one stable toolchain and no nightly: cargo-fuzz passes
# nightly-only flags (-Zsanitizer=address and others) to rustc, which stable
# rustc accepts with RUSTC_BOOTSTRAP=1.
export RUSTC_BOOTSTRAP=1
# The repository's .cargo/config.toml links statically (+crt-static for
# x86_64-unknown-linux-gnu), which the sanitizer runtime cannot be. cargo-fuzz
# builds for that same triple and passes its flags in RUSTFLAGS, and RUSTFLAGS
# replaces the config's target rustflags: the fuzz binaries come out dynamic.
# A RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS of the caller would be added to or
# replace cargo-fuzz's, so neither is taken from the environment.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
# The fuzz crate is outside the workspace that test.sh's fmt check covers.
(cd fuzz && cargo fmt -- --check)
# -O: optimised, as libFuzzer needs speed; -a: with debug assertions and
# overflow checks, so an overflow is a crash as in corten's dev builds.
cargo fuzz build -O -a

failed=()
for t in "${targets[@]}"; do
	case "$t" in
	config | seccomp) max_len=32768 ;; # whole profiles (podman's is 12 KB)
	*) max_len=8192 ;;
	esac
	if [ "${FUZZ_CORPUS:-}" = keep ]; then
		work=fuzz/corpus/$t
		mkdir -p "$work"
	else
		work=$(mktemp -d)
	fi
	log=$(mktemp)
	dict=()
	[ -f "fuzz/dicts/$t.dict" ] && dict=(-dict="fuzz/dicts/$t.dict")
	# One process on one core (no -jobs/-fork: the machine has two, and
	# -jobs would only move the output into fuzz-N.log); new inputs go to
	# $work, the seeds are only read. -timeout: an input that takes 10 s is
	# a hang.
	echo "fuzz: $t for ${seconds}s"
	if cargo fuzz run -O -a "$t" "$work" "fuzz/seeds/$t" -- \
		-max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -timeout=10 \
		"${dict[@]}" >"$log" 2>&1; then
		grep -E '^Done|^#[0-9]+.*DONE' "$log" | tail -1 || true
	else
		# The panic or sanitizer report, then where cargo-fuzz put the input.
		sed -n '/panicked at\|==ERROR\|ERROR: libFuzzer/,$p' "$log" | head -30
		grep -A2 '^Failing input' "$log" || tail -20 "$log"
		failed+=("$t")
	fi
	rm -f "$log"
	[ "${FUZZ_CORPUS:-}" = keep ] || rm -rf "$work"
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: crashed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
	exit 1
fi
