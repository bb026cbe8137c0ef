# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=sh
#
# What the project's scripts install on a fresh machine, and the versions they pin. Sourced
# (POSIX sh) by scripts/test-all, fuzz.sh, check-header.sh, check-zephyr-static.sh,
# check-yaml.sh, check-c-format.sh and realpeer-test.sh; each installs only what it needs and
# only when it is missing or another version.
#
# Pinned here (the README lists them):
#   the Rust toolchain and its targets     rust/rust-toolchain.toml (rustup installs it)
#   cbindgen                               W5500_CBINDGEN_VERSION (cargo install --locked)
#   cargo-fuzz                             W5500_CARGO_FUZZ_VERSION (cargo install --locked)
#   the nightly toolchain for fuzzing      W5500_FUZZ_NIGHTLY (rustup, profile minimal)
#   clang-format                           W5500_CLANG_FORMAT (Debian's package of that major)
#   Python tools (devicetree, kconfiglib,  scripts/static/requirements.txt (pip, in a venv)
#   yamllint and their dependencies)
# Debian packages without a version in their name (iproute2, socat, dnsmasq-base, gcc,
# python3-venv) come from the machine's Debian release.
#
# A cargo tool found at another version is not replaced: the pinned one is installed under
# rust/target/tools and put first on PATH for the script's run.
#
# apt: another apt or dpkg (unattended-upgrades, a second session) may hold the dpkg/apt locks;
# the scripts then wait, saying which lock and which process, for at most W5500_APT_WAIT
# seconds (default 900) before they give up with that message.

W5500_CBINDGEN_VERSION=0.29.4
W5500_CARGO_FUZZ_VERSION=0.13.2
# The nightly whose build of cargo-fuzz's targets is tested (rustc 1.97.0-nightly e50aa6fba).
W5500_FUZZ_NIGHTLY=nightly-2026-05-20
# 15 is the first with InsertBraces (Zephyr's style); Debian 12 has 14 as `clang-format`.
W5500_CLANG_FORMAT=clang-format-19

w5500_root=$(cd "$(dirname "$0")/.." && pwd)
W5500_TOOLS_DIR=${W5500_TOOLS_DIR:-$w5500_root/rust/target/tools}

w5500_say() { printf '%s\n' "$*" >&2; }

# --- apt ---------------------------------------------------------------------------------

# The locks apt-get and dpkg take (fcntl locks; /proc/locks lists their holders).
W5500_APT_LOCKS=${W5500_APT_LOCKS:-/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock}

# w5500_lock_holder FILE: print "PID (COMMAND)" of a process holding a lock on FILE; status 1
# when none does (or the file does not exist).
w5500_lock_holder() {
	[ -e "$1" ] && [ -r /proc/locks ] || return 1
	set -- "$1" "$(stat -L -c '%d %i' "$1" 2>/dev/null)"
	[ -n "$2" ] || return 1
	# /proc/locks names the file as major:minor:inode, major and minor in hex.
	w5500_key=$(echo "$2" | awk '{ d = $1; printf "%02x:%02x:%s", int(d / 256) % 4096, (d % 256) + int(d / 1048576) * 256, $2 }')
	w5500_pid=$(awk -v key="$w5500_key" '$2 != "->" && $6 == key { print $5; exit }' /proc/locks)
	[ -n "$w5500_pid" ] || return 1
	echo "$w5500_pid ($(cat "/proc/$w5500_pid/comm" 2>/dev/null || echo '?'))"
}

# w5500_apt_wait_locks: wait until no process holds a dpkg/apt lock, at most W5500_APT_WAIT
# seconds in all (counted from the first wait of this run); say what is waited for.
w5500_apt_waited=0
w5500_apt_wait_locks() {
	w5500_limit=${W5500_APT_WAIT:-900}
	w5500_told=
	while :; do
		w5500_held=
		for w5500_lock in $W5500_APT_LOCKS; do
			if w5500_holder=$(w5500_lock_holder "$w5500_lock"); then
				w5500_held="$w5500_lock, held by process $w5500_holder"
				break
			fi
		done
		[ -n "$w5500_held" ] || return 0
		if [ "$w5500_apt_waited" -ge "$w5500_limit" ]; then
			w5500_say "apt: gave up after ${w5500_apt_waited} s waiting for $w5500_held" \
				"(W5500_APT_WAIT=$w5500_limit); run the command again when it is done"
			return 1
		fi
		if [ "$w5500_told" != "$w5500_held" ] || [ $((w5500_apt_waited % 30)) -eq 0 ]; then
			w5500_say "apt: waiting for $w5500_held (${w5500_apt_waited} s of at most ${w5500_limit} s)"
			w5500_told=$w5500_held
		fi
		sleep 2
		w5500_apt_waited=$((w5500_apt_waited + 2))
	done
}

w5500_apt_updated=
# w5500_apt_install PACKAGE...: install Debian packages (root, or sudo), after the locks.
w5500_apt_install() {
	if [ "$(id -u)" = 0 ]; then
		w5500_sudo=
	elif command -v sudo >/dev/null 2>&1; then
		w5500_sudo=sudo
	else
		w5500_say "needs the Debian packages $*: install them as root (apt-get install $*)"
		return 1
	fi
	w5500_say "apt: installing $*"
	if [ -z "$w5500_apt_updated" ]; then
		w5500_apt_wait_locks || return 1
		# Lock::Timeout covers the moment between our check and apt taking the lock.
		$w5500_sudo apt-get -o DPkg::Lock::Timeout=120 update -qq || return 1
		w5500_apt_updated=1
	fi
	w5500_apt_wait_locks || return 1
	$w5500_sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 \
		install -y -qq --no-install-recommends "$@" >/dev/null
}

# w5500_need_commands COMMAND:PACKAGE...: install the packages of the missing commands.
w5500_need_commands() {
	w5500_missing=
	for w5500_pair in "$@"; do
		command -v "${w5500_pair%%:*}" >/dev/null 2>&1 || w5500_missing="$w5500_missing ${w5500_pair#*:}"
	done
	[ -z "$w5500_missing" ] || w5500_apt_install $w5500_missing
}

# --- cargo tools and the fuzzing nightly -------------------------------------------------

# w5500_cargo_tool CRATE VERSION BINARY: make BINARY at VERSION the one on PATH (prints
# nothing; installs with `cargo install --locked` when needed).
w5500_cargo_tool() {
	w5500_have=$("$3" --version 2>/dev/null | awk '{ print $2 }')
	[ "$w5500_have" = "$2" ] && return 0
	if [ -x "$W5500_TOOLS_DIR/bin/$3" ] &&
		[ "$("$W5500_TOOLS_DIR/bin/$3" --version 2>/dev/null | awk '{ print $2 }')" = "$2" ]; then
		PATH="$W5500_TOOLS_DIR/bin:$PATH"
		export PATH
		return 0
	fi
	# Built from rust/, with the pinned toolchain (rust/rust-toolchain.toml).
	if [ -z "$w5500_have" ]; then
		w5500_say "installing $1 $2 (cargo install --locked)"
		(cd "$w5500_root/rust" && cargo install --quiet --locked --version "=$2" "$1") || return 1
	else
		w5500_say "installing $1 $2 into $W5500_TOOLS_DIR (found $w5500_have on PATH)"
		(cd "$w5500_root/rust" &&
			cargo install --quiet --locked --version "=$2" --root "$W5500_TOOLS_DIR" "$1") || return 1
		PATH="$W5500_TOOLS_DIR/bin:$PATH"
		export PATH
	fi
}

# w5500_fuzz_toolchain: print the rustup toolchain name of W5500_FUZZ_NIGHTLY, installing it if
# no installed toolchain is that nightly. An undated `nightly` whose manifest has the pinned
# date (machines that come with one) is used as it is.
w5500_fuzz_toolchain() {
	if rustup run "$W5500_FUZZ_NIGHTLY" rustc --version >/dev/null 2>&1; then
		echo "$W5500_FUZZ_NIGHTLY"
		return 0
	fi
	w5500_date=${W5500_FUZZ_NIGHTLY#nightly-}
	if w5500_sysroot=$(rustup run nightly rustc --print sysroot 2>/dev/null) &&
		grep -qx "date = \"$w5500_date\"" "$w5500_sysroot/lib/rustlib/multirust-channel-manifest.toml" 2>/dev/null; then
		echo nightly
		return 0
	fi
	w5500_say "installing the $W5500_FUZZ_NIGHTLY toolchain (rustup, profile minimal)"
	rustup toolchain install "$W5500_FUZZ_NIGHTLY" --profile minimal >&2 || return 1
	echo "$W5500_FUZZ_NIGHTLY"
}

# --- Python tools --------------------------------------------------------------------------

# w5500_static_venv: print the path of a venv with scripts/static/requirements.txt installed
# (under TMPDIR, named by the checksum of the requirements, so branches with other pins on a
# shared machine do not replace each other's; made again if an install was cut short).
w5500_static_venv() {
	w5500_req="$w5500_root/scripts/static/requirements.txt"
	w5500_sum=$(cksum <"$w5500_req" | awk '{ print $1 }')
	w5500_venv="${TMPDIR:-/tmp}/w5500-static-venv-$w5500_sum"
	if [ -f "$w5500_venv/installed" ]; then
		echo "$w5500_venv"
		return 0
	fi
	if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
		w5500_apt_install python3-venv || return 1
	fi
	w5500_say "python: $(grep -v '^#' "$w5500_req" | tr '\n' ' ')in a venv, $w5500_venv"
	rm -rf "$w5500_venv"
	if python3 -m venv "$w5500_venv" >&2 &&
		"$w5500_venv/bin/pip" install --quiet -r "$w5500_req" >&2; then
		cp "$w5500_req" "$w5500_venv/installed"
		echo "$w5500_venv"
	else
		rm -rf "$w5500_venv"
		return 1
	fi
}
