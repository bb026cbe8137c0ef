#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# clang-format (the repository's .clang-format: Zephyr's style) on the module's C: zephyr/,
# tests/ and samples/, less the cbindgen header (generated). Prints, per file, how many places
# clang-format would change, and with -v its diff.
#   scripts/check-c-format.sh [--report-only] [-v] [FILE...]
#     --report-only   print the findings and exit 0 (scripts/test-all runs it without: a finding
#                     fails)
#     -v              also print what clang-format would write, as a diff
# The pinned clang-format (scripts/lib/setup.sh: Debian's clang-format-19) is installed when
# missing; CLANG_FORMAT=<command> uses another one.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib/setup.sh"
report_only=0
verbose=0
while [ $# -gt 0 ]; do
	case $1 in
	--report-only) report_only=1 ;;
	-v) verbose=1 ;;
	-h | --help)
		sed -n '3,11s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	-*)
		echo "check-c-format: unknown option $1" >&2
		exit 2
		;;
	*) break ;;
	esac
	shift
done
clang_format=${CLANG_FORMAT:-$W5500_CLANG_FORMAT}
if [ -z "${CLANG_FORMAT:-}" ]; then
	w5500_need_commands "$W5500_CLANG_FORMAT:$W5500_CLANG_FORMAT"
fi
cd "$root"
if [ $# -eq 0 ]; then
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		set -- $(git ls-files 'zephyr/*.[ch]' 'tests/*.[ch]' 'samples/*.[ch]' |
			grep -v '^zephyr/include/w5500_offload/w5500_rs\.h$')
	else
		set -- $(find zephyr tests samples -name '*.[ch]' ! -name w5500_rs.h -type f | sort)
	fi
fi
echo "check-c-format: $("$clang_format" --version), $# files"
files=0
places=0
for f in "$@"; do
	n=$("$clang_format" --style=file --dry-run "$f" 2>&1 | grep -c ': warning: ' || true)
	if [ "$n" -gt 0 ]; then
		printf '  %4d  %s\n' "$n" "$f"
		files=$((files + 1))
		places=$((places + n))
		if [ "$verbose" = 1 ]; then
			"$clang_format" --style=file "$f" | diff -u "$f" - || true
		fi
	fi
done
if [ "$files" -eq 0 ]; then
	echo "check-c-format: OK"
	exit 0
fi
echo "check-c-format: $files of $# files differ from .clang-format in $places places" \
	"(scripts/check-c-format.sh -v shows how; $clang_format -i FILE rewrites)"
if [ "$report_only" = 1 ]; then
	echo "check-c-format: report only, not failing"
	exit 0
fi
exit 1
