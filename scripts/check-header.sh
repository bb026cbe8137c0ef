#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Regenerate the C header of the Rust exports with cbindgen and fail if it differs from the
# committed zephyr/include/w5500_offload/w5500_rs.h.
#   scripts/check-header.sh          verify
#   scripts/check-header.sh --write  regenerate in place
# The header was generated with cbindgen 0.29.4; another version may format differently.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
header="$root/zephyr/include/w5500_offload/w5500_rs.h"
if ! command -v cbindgen >/dev/null 2>&1; then
	echo "check-header: installing cbindgen (cargo install cbindgen --locked)" >&2
	cargo install cbindgen --locked
fi
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
