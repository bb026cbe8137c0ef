#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# yamllint on the module's YAML files (those git tracks, plus .yamllint and .clang-format) with
# the repository's .yamllint (Zephyr's rules). Fails on any error or warning.
#   scripts/check-yaml.sh [FILE...]     (default: every tracked YAML file)
# yamllint is pinned in scripts/static/requirements.txt and installed in a venv when missing.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib/setup.sh"
venv=$(w5500_static_venv)
cd "$root"
if [ $# -eq 0 ]; then
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		set -- $(git ls-files '*.yaml' '*.yml' .yamllint .clang-format)
	else
		set -- $(find . \( -name target -o -name 'build*' -o -name 'twister-out*' \) -prune -o \
			\( -name '*.yaml' -o -name '*.yml' -o -name .yamllint -o -name .clang-format \) \
			-type f -print)
	fi
fi
echo "check-yaml: $("$venv/bin/yamllint" --version), $# files"
"$venv/bin/yamllint" --strict -c "$root/.yamllint" "$@"
echo "check-yaml: OK"
