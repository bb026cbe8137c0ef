#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regenerate the C header of the Rust exports with cbindgen and fail if it differs from the
# committed zephyr/include/w5500_offload/w5500_rs.h.
#   scripts/check-header.sh          verify
#   scripts/check-header.sh --write  regenerate in place
# cbindgen is pinned (scripts/lib/setup.sh: another version may format differently) and
# installed when missing.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib/setup.sh"
header="$root/zephyr/include/w5500_offload/w5500_rs.h"
w5500_cargo_tool cbindgen "$W5500_CBINDGEN_VERSION" cbindgen
echo "check-header: $(cbindgen --version)" >&2
tmp=${TMPDIR:-/tmp}/w5500_rs.h.$$
trap 'rm -f "$tmp"' EXIT
# cbindgen reads the crate with `cargo metadata`; its warnings about private items are noise.
(cd "$root/rust/w5500-zephyr" &&
	cbindgen --quiet --config cbindgen.toml --crate w5500-zephyr --output "$tmp" .)
if [ "${1:-}" = "--write" ]; then
	cp "$tmp" "$header"
	echo "check-header: wrote $header" >&2
	exit 0
fi
if ! diff -u "$header" "$tmp"; then
	echo "check-header: $header is stale; run scripts/check-header.sh --write" >&2
	exit 1
fi
echo "check-header: OK" >&2
