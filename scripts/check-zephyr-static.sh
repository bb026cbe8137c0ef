#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Checks of the Zephyr integration that need no Zephyr tree (CI, scripts/test-all):
#  1. the Rust glue on the host: fmt, clippy (with and without the emulator), tests;
#  2. the C ABI: the cbindgen header matches the committed one, and it compiles as C11; so does
#     the bridge emulator's host side (zephyr/src/w5500_emul_bridge_bottom.c);
#  3. cross builds of w5500-zephyr for thumbv7em-none-eabihf (with the emulator core) and
#     thumbv6m-none-eabi (without: the simulator needs atomic compare-and-swap), and for
#     thumbv7m-none-eabi with the optional features (DNS over TCP, DHCP probe, DNS cache)
#     all off and all on; and as a zephyr-lang-rust application builds it (an rlib, no
#     features, the image's Kconfig from DOTCONFIG: CONFIG_RUST, CONFIG_RUST_ALLOC and the
#     in-image simulator on);
#  4. the devicetree binding and the Kconfig parsed by Zephyr's Python libraries from PyPI
#     (devicetree, kconfiglib; pinned in scripts/static/requirements.txt) in a venv under
#     $TMPDIR, against stand-ins in scripts/static;
#  0. first: no name that current Zephyr removed or renamed in samples/ and tests/
#     (scripts/zephyr-removed-names.txt), and the checker's own tests.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib/setup.sh"
tmp=${TMPDIR:-/tmp}
step() { printf '\n== %s\n' "$*"; }

step "Zephyr names in samples/ and tests/ (scripts/zephyr-removed-names.txt)"
python3 "$root/scripts/check-zephyr-names.py"
python3 "$root/scripts/check-zephyr-names-test.py"

cd "$root/rust"
step "rust: fmt, clippy, tests (w5500-zephyr)"
cargo fmt -p w5500-zephyr -- --check
# The Rust sample builds only inside a zephyr-lang-rust application (not on the host): its
# formatting at least.
rustfmt --check --edition 2021 "$root/samples/rust_client/src/lib.rs"
cargo clippy -p w5500-zephyr --all-targets -- -D warnings
cargo clippy -p w5500-zephyr --all-targets --features emul -- -D warnings
cargo test -p w5500-zephyr
cargo test -p w5500-zephyr --features emul-core

step "C ABI: header"
"$root/scripts/check-header.sh"
cc=${CC:-cc}
printf '#include "w5500_offload/w5500_rs.h"\nint main(void){return W5500_RS_MAX_INSTANCES - 1;}\n' \
	> "$tmp/w5500_rs_check.c"
$cc -std=c11 -Wall -Wextra -Werror -I"$root/zephyr/include" -fsyntax-only "$tmp/w5500_rs_check.c"
rm -f "$tmp/w5500_rs_check.c"
# The bridge emulator's host side is plain POSIX C (the Python test in rust/w5500-sim also
# builds and runs it).
$cc -std=c11 -Wall -Wextra -Werror -fsyntax-only "$root/zephyr/src/w5500_emul_bridge_bottom.c"

step "cross builds"
cargo clippy -p w5500-zephyr --target thumbv7em-none-eabihf --features emul -- -D warnings
cargo rustc -p w5500-zephyr --lib --profile zephyr --target thumbv7em-none-eabihf --features emul --crate-type staticlib
cargo clippy -p w5500-zephyr --target thumbv6m-none-eabi -- -D warnings
cargo rustc -p w5500-zephyr --lib --profile zephyr --target thumbv6m-none-eabi --crate-type staticlib
# The Kconfig options that are cargo features (zephyr/cmake/rust_staticlib.cmake): every
# optional feature off, and all on.
cargo clippy -p w5500-zephyr --target thumbv7m-none-eabi --no-default-features --features panic-handler -- -D warnings
cargo rustc -p w5500-zephyr --lib --profile zephyr --target thumbv7m-none-eabi --no-default-features --features panic-handler --crate-type staticlib
cargo clippy -p w5500-zephyr --target thumbv7m-none-eabi --features dns-tcp -- -D warnings
cargo rustc -p w5500-zephyr --lib --profile zephyr --target thumbv7m-none-eabi --features dns-tcp --crate-type staticlib
# A zephyr-lang-rust application (samples/rust_client): no cargo features, Kconfig from the
# image's .config (rust/w5500-zephyr/src/build_cfg.rs), the simulator on.
printf 'CONFIG_RUST=y\nCONFIG_RUST_ALLOC=y\nCONFIG_W5500_OFFLOAD_EMUL=y\n' > "$tmp/w5500_rustapp.config"
DOTCONFIG="$tmp/w5500_rustapp.config" cargo clippy -p w5500-zephyr --lib --target thumbv7m-none-eabi --no-default-features -- -D warnings
DOTCONFIG="$tmp/w5500_rustapp.config" cargo build -p w5500-zephyr --lib --release --target thumbv7m-none-eabi --no-default-features
rm -f "$tmp/w5500_rustapp.config"

step "devicetree binding and Kconfig (PyPI devicetree, kconfiglib)"
venv=$(w5500_static_venv)
"$venv/bin/python" "$root/scripts/static/check.py"
printf '\ncheck-zephyr-static: OK\n'
