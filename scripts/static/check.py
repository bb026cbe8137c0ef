#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Parse the module's devicetree binding and Kconfig with Zephyr's Python libraries (PyPI
`devicetree` and `kconfiglib`), against the stand-ins in this directory."""
import os
import sys

from devicetree import edtlib
import kconfiglib

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, "..", ".."))
fail = []

# --- binding ---
edt = edtlib.EDT(os.path.join(here, "example.dts"),
                 [os.path.join(here, "bindings"), os.path.join(root, "dts", "bindings")])
nodes = edt.compat2nodes["wiznet,w5500-offload"]
assert len(nodes) == 1, "one wiznet,w5500-offload node"
n = nodes[0]
props = n.props
for p in ("int-gpios", "reset-gpios", "spi-max-frequency", "local-mac-address",
          "tx-buffer-sizes-kb", "rx-buffer-sizes-kb"):
    if p not in props:
        fail.append(f"binding: property {p} not parsed")
if props["int-gpios"].val[0].data["pin"] != 21:
    fail.append("binding: int-gpios pin")
if list(props["tx-buffer-sizes-kb"].val) != [8, 8, 0, 0, 0, 0, 0, 0]:
    fail.append("binding: tx-buffer-sizes-kb")
if n.on_bus != "spi":
    fail.append(f"binding: on bus {n.on_bus}")
print(f"binding OK: {n.path} {sorted(props)}")

# --- Kconfig ---
os.environ["srctree"] = os.path.join(here, "kconfig")
os.environ["W5500_MODULE_DIR"] = root
kconf = kconfiglib.Kconfig(os.path.join(here, "kconfig", "Kconfig"), warn_to_stderr=False)
for w in kconf.warnings:
    fail.append(f"kconfig warning: {w}")
ours = [s for s in kconf.unique_defined_syms if s.name.startswith("W5500_OFFLOAD")]
for s in ours:
    if not any(node.help for node in s.nodes):
        fail.append(f"kconfig: {s.name} has no help")


def setv(name, val):
    kconf.syms[name].set_value(val)


setv("DT_HAS_WIZNET_W5500_OFFLOAD_ENABLED", "y")
setv("NET_SOCKETS_OFFLOAD", "y")
if kconf.syms["W5500_OFFLOAD"].str_value != "y":
    fail.append("kconfig: W5500_OFFLOAD not default y with its dependencies")
if kconf.syms["SPI"].str_value != "y":
    fail.append("kconfig: W5500_OFFLOAD does not select SPI")
if kconf.syms["W5500_OFFLOAD_RESERVED_SOCKETS"].str_value != "2":
    fail.append("kconfig: reserved sockets default with DHCP/DNS")
if kconf.syms["W5500_OFFLOAD_DHCP_HOSTNAME"].str_value != "WIZnet{}":
    fail.append("kconfig: hostname template")
# The bridge emulator: native boards only, and it takes the in-image simulator's options away.
setv("SPI", "y")
setv("EMUL", "y")
setv("DT_HAS_ZEPHYR_SPI_EMUL_CONTROLLER_ENABLED", "y")
if kconf.syms["W5500_OFFLOAD_EMUL"].str_value != "y":
    fail.append("kconfig: W5500_OFFLOAD_EMUL not default y with EMUL")
setv("W5500_OFFLOAD_EMUL_BRIDGE", "y")
if kconf.syms["W5500_OFFLOAD_EMUL_BRIDGE"].str_value != "n":
    fail.append("kconfig: W5500_OFFLOAD_EMUL_BRIDGE without ARCH_POSIX")
setv("ARCH_POSIX", "y")
setv("W5500_OFFLOAD_EMUL_BRIDGE", "y")
if kconf.syms["W5500_OFFLOAD_EMUL_BRIDGE"].str_value != "y":
    fail.append("kconfig: W5500_OFFLOAD_EMUL_BRIDGE on a native board")
if kconf.syms["W5500_OFFLOAD_EMUL_BRIDGE_PATH"].str_value != "w5500-sim.sock":
    fail.append("kconfig: bridge path default")
if kconf.syms["W5500_OFFLOAD_EMUL_HEAP_SIZE"].visibility or \
        kconf.syms["W5500_OFFLOAD_EMUL_HEAP_SIZE"].str_value not in ("", "0"):
    fail.append("kconfig: simulator heap offered with the bridge")
setv("W5500_OFFLOAD_EMUL_BRIDGE", "n")
setv("ARCH_POSIX", "n")
# The optional features (issue 12): their defaults, a size in the help text, and the cargo
# feature zephyr/cmake/rust_staticlib.cmake passes for each (which must exist in the glue).
setv("W5500_OFFLOAD_DNS", "y")
setv("W5500_OFFLOAD_DHCP", "y")
cmake = open(os.path.join(root, "zephyr", "cmake", "rust_staticlib.cmake")).read()
cargo = open(os.path.join(root, "rust", "w5500-zephyr", "Cargo.toml")).read()
for sym, default, feature in (("W5500_OFFLOAD_DNS_TCP", "n", "dns-tcp"),
                              ("W5500_OFFLOAD_DHCP_PROBE", "y", "dhcp-probe"),
                              ("W5500_OFFLOAD_DNS_CACHE", "y", "dns-cache")):
    if kconf.syms[sym].str_value != default:
        fail.append(f"kconfig: {sym} default {kconf.syms[sym].str_value}, want {default}")
    help_text = " ".join(node.help or "" for node in kconf.syms[sym].nodes)
    if "KB of flash" not in help_text:
        fail.append(f"kconfig: {sym} help does not say what it costs in flash")
    if f"CONFIG_{sym})" not in cmake or f"list(APPEND feature_list {feature})" not in cmake:
        fail.append(f"cmake: {sym} does not pass the cargo feature {feature}")
    if f"\n{feature} = " not in "\n" + cargo:
        fail.append(f"w5500-zephyr/Cargo.toml: no feature {feature}")
setv("W5500_OFFLOAD_DNS", "n")
if kconf.syms["W5500_OFFLOAD_DNS_CACHE"].str_value != "n":
    fail.append("kconfig: DNS cache without the DNS offload")
setv("W5500_OFFLOAD_DNS", "y")
setv("ETH_W5500", "y")
if kconf.syms["W5500_OFFLOAD"].str_value != "n":
    fail.append("kconfig: W5500_OFFLOAD coexists with ETH_W5500")
setv("ETH_W5500", "n")
setv("NET_SOCKETS_OFFLOAD", "n")
if kconf.syms["W5500_OFFLOAD"].str_value != "n":
    fail.append("kconfig: W5500_OFFLOAD without NET_SOCKETS_OFFLOAD")
print(f"kconfig OK: {len(ours)} W5500_OFFLOAD* symbols, all with help")

for f in fail:
    print("FAIL:", f)
sys.exit(1 if fail else 0)
