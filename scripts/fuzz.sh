#!/usr/bin/env bash
# Run every cargo-fuzz target for FUZZ_SECONDS seconds each (default 20), one after another.
#
#   scripts/fuzz.sh                          # all targets, 20 s each
#   FUZZ_SECONDS=5 scripts/fuzz.sh           # CI smoke run
#   FUZZ_TARGETS="hostile_chip" FUZZ_SECONDS=600 scripts/fuzz.sh
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 20)
#   FUZZ_TARGETS    space-separated subset (default: every target in rust/fuzz/Cargo.toml)
#   FUZZ_SANITIZER  cargo-fuzz sanitizer (default "none": the fuzzed crates forbid unsafe
#                   code, and without ASan the targets run several times faster; overflow
#                   checks and debug assertions stay on, cargo-fuzz's default)
#   FUZZ_TIMEOUT    libFuzzer per-input timeout in seconds (default 10): a hang is a failure
#   FUZZ_SUMMARY    if set, a TSV summary (one line per target) is written there
#
# Seeds are read from rust/fuzz/corpus/<target> (committed, never written); inputs libFuzzer
# finds go to rust/fuzz/work/<target> (git-ignored), crashes to rust/fuzz/artifacts/<target>.
# Installs cargo-fuzz and the nightly toolchain when missing, at the versions pinned in
# scripts/lib/setup.sh. Exits non-zero if any target crashed, hung, ran out of memory or failed
# to build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rust_dir="$root/rust"
fuzz_dir="$rust_dir/fuzz"
seconds="${FUZZ_SECONDS:-20}"
sanitizer="${FUZZ_SANITIZER:-none}"
timeout_s="${FUZZ_TIMEOUT:-10}"

if ! command -v rustup >/dev/null; then
    echo "fuzz.sh: rustup is required" >&2
    exit 2
fi
# shellcheck source=lib/setup.sh
. "$root/scripts/lib/setup.sh"
nightly="$(w5500_fuzz_toolchain)"
w5500_cargo_tool cargo-fuzz "$W5500_CARGO_FUZZ_VERSION" cargo-fuzz

if [[ -n "${FUZZ_TARGETS:-}" ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(sed -n 's/^name = "\([a-z_]*\)"$/\1/p' "$fuzz_dir/Cargo.toml" | grep -v '^w5500')
fi

cd "$rust_dir"
echo "fuzz.sh: building ${targets[*]} ($nightly: $(rustup run "$nightly" rustc --version), $(cargo-fuzz --version), sanitizer=$sanitizer)"
# `+$nightly` wins over rust/rust-toolchain.toml (pinned to the stable release).
cargo "+$nightly" fuzz build --fuzz-dir "$fuzz_dir" -s "$sanitizer"

status=0
summary=()
log_dir="$(mktemp -d)"
trap 'rm -rf "$log_dir"' EXIT
for t in "${targets[@]}"; do
    work="$fuzz_dir/work/$t"
    seeds="$fuzz_dir/corpus/$t"
    mkdir -p "$work" "$seeds" "$fuzz_dir/artifacts/$t"
    log="$log_dir/$t.log"
    echo "fuzz.sh: $t for ${seconds}s"
    rc=0
    cargo "+$nightly" fuzz run --fuzz-dir "$fuzz_dir" -s "$sanitizer" "$t" "$work" "$seeds" -- \
        -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1 || rc=$?
    done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")"
    corp="$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$done_line")"
    if [[ $rc -ne 0 || -z "$done_line" ]]; then
        status=1
        result="FAILED (exit $rc)"
        echo "---- $t: last lines of libFuzzer's output"
        grep -E 'panicked|ERROR|SUMMARY|Test unit written|deadly signal|timeout|out-of-memory' "$log" | tail -20 || true
        tail -5 "$log"
        artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
        if [[ -n "$artifact" ]]; then
            echo "---- reproduce: (cd rust && cargo +$nightly fuzz run -s $sanitizer $t $artifact)"
            echo "---- minimise:  (cd rust && cargo +$nightly fuzz tmin -s $sanitizer $t $artifact)"
        fi
    else
        result="ok"
    fi
    echo "fuzz.sh: $t: ${execs:-?} executions (${rate:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}: $result"
    summary+=("$t	$seconds	${execs:-0}	${rate:-0}	${cov:-0}	${ft:-0}	${corp:-?}	$result")
done

echo
printf '%-18s %6s %12s %9s %6s %7s %12s  %s\n' target secs execs exec/s cov ft corpus result
for line in "${summary[@]}"; do
    IFS=$'\t' read -r t s e r c f p res <<<"$line"
    printf '%-18s %6s %12s %9s %6s %7s %12s  %s\n' "$t" "$s" "$e" "$r" "$c" "$f" "$p" "$res"
done
if [[ -n "${FUZZ_SUMMARY:-}" ]]; then
    printf '%s\n' "${summary[@]}" >"$FUZZ_SUMMARY"
fi
exit $status
