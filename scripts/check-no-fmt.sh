#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# No Rust formatting code (core::fmt) in what runs on the target (issue 12, team rule).
#
#   scripts/check-no-fmt.sh                 build the C application's static library of the
#                                           driver as zephyr/cmake/rust_staticlib.cmake does
#                                           (profile zephyr, fat LTO, feature c-log) for two
#                                           Cortex-M targets and feature sets, and fail if its
#                                           object defines any core::fmt symbol
#   scripts/check-no-fmt.sh ELF...          the same check on built Zephyr images (zephyr.elf)
#
# With fat LTO the archive's Rust object holds only what the exported w5500_rs_* functions and
# the panic handler reach, so a core::fmt symbol in it is one the image links. Needs cargo with
# the targets of rust/rust-toolchain.toml and binutils' nm (reads ARM objects).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

# Prints the offending symbols of one object/archive/image; returns 1 if there are any.
check() {
	found=$(nm -C "$1" 2>/dev/null | grep -E 'core::fmt|as core::fmt::(Display|Debug|Write)' || true)
	if [ -n "$found" ]; then
		echo "check-no-fmt: $2 links Rust formatting (core::fmt):" >&2
		echo "$found" | sed 's/^/  /' >&2
		return 1
	fi
	echo "check-no-fmt: $2: no core::fmt" >&2
}

if [ $# -gt 0 ]; then
	rc=0
	for elf in "$@"; do
		check "$elf" "$elf" || rc=1
	done
	exit $rc
fi

target_dir=${CARGO_TARGET_DIR:-$root/rust/target}/check-no-fmt
rc=0
# The Kconfig defaults (log level INF), and every option on with debug records compiled in.
for t in thumbv7m-none-eabi thumbv6m-none-eabi; do
	for features in panic-handler,c-log,log-level-inf,dhcp-probe,dns-cache \
		panic-handler,c-log,dns-tcp,dhcp-probe,dns-cache; do
		(cd "$root/rust" && cargo rustc -q -p w5500-zephyr --lib --profile zephyr --locked \
			--target "$t" --target-dir "$target_dir/$features" \
			--no-default-features --features "$features" --crate-type staticlib)
		check "$target_dir/$features/$t/zephyr/libw5500_zephyr.a" "$t [$features]" || rc=1
	done
done
exit $rc
