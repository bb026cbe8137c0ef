#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tests of scripts/check-zephyr-names.py: every kind of planted removed name is found (with
file and line), names in comments and current names are not, the repository is clean."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check-zephyr-names.py")
ROOT = os.path.dirname(HERE)

CLEAN_YAML = """common:
  tags: [w5500]
  # was mps2_an385 and native_posix_64 on Zephyr 3.4 (a comment: not a platform)
  platform_allow:
    - native_sim/native/64
    - mps2/an385
    - w5500_evb_pico2/rp2350a/m33
  integration_platforms:
    - native_sim/native/64
tests:
  sample.x.emul:
    harness: console
    harness_config:
      regex:
        - "echo #1 mps2/an385"
"""
CLEAN_CONF = "# CONFIG_ZTEST_NEW_API was needed on 3.4 (comment)\nCONFIG_NET_L2_ETHERNET=n\n"
CLEAN_OVERLAY = "/* CONFIG_NET_SLIP_TAP in a block\n comment */\n#include \"x.overlay\"\n/ { };\n"


def tree(files):
    """A temporary tree with the given {relative path: text}."""
    d = tempfile.TemporaryDirectory(prefix="zephyr-names-")
    for rel, text in files.items():
        path = os.path.join(d.name, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return d


def run(root, *extra):
    p = subprocess.run([sys.executable, CHECK, "--root", root, *extra],
                       capture_output=True, text=True, check=False)
    return p.returncode, p.stdout + p.stderr


class CheckZephyrNames(unittest.TestCase):
    def clean(self):
        return {"samples/x/sample.yaml": CLEAN_YAML, "samples/x/prj.conf": CLEAN_CONF,
                "samples/x/boards/rpi_pico.overlay": CLEAN_OVERLAY,
                "tests/y/testcase.yaml": CLEAN_YAML, "tests/y/prj.conf": CLEAN_CONF}

    def test_clean_tree_passes(self):
        with tree(self.clean()) as d:
            rc, out = run(d)
            self.assertEqual(rc, 0, out)

    def test_repository_passes(self):
        rc, out = run(ROOT)
        self.assertEqual(rc, 0, out)

    def planted(self, rel, text, expect):
        files = self.clean()
        files[rel] = text
        with tree(files) as d:
            rc, out = run(d)
            self.assertEqual(rc, 1, out)
            self.assertIn(expect, out)

    def test_removed_kconfig_symbol_in_conf(self):
        self.planted("tests/y/prj.conf", "CONFIG_ZTEST=y\nCONFIG_ZTEST_NEW_API=y\n",
                     "tests/y/prj.conf:2: kconfig ZTEST_NEW_API")

    def test_symbol_missing_on_3_4_in_conf(self):
        self.planted("samples/x/prj.conf", "CONFIG_ZVFS_OPEN_MAX=16\n",
                     "samples/x/prj.conf:1: kconfig34 ZVFS_OPEN_MAX")

    def test_removed_symbol_in_yaml_extra_configs(self):
        self.planted("samples/x/sample.yaml",
                     CLEAN_YAML + "    extra_configs:\n      - CONFIG_NET_SOCKETS_POLL_MAX=8\n",
                     "kconfig NET_SOCKETS_POLL_MAX: use ZVFS_POLL_MAX")

    def test_removed_platform_in_platform_allow(self):
        self.planted("tests/y/testcase.yaml",
                     CLEAN_YAML.replace("    - mps2/an385\n", "    - mps2_an385\n"),
                     "tests/y/testcase.yaml:6: platform mps2_an385: use mps2/an385")

    def test_removed_platform_in_conditional_extra_configs(self):
        self.planted("samples/x/sample.yaml",
                     CLEAN_YAML + "    extra_configs:\n"
                     "      - platform:native_posix_64:CONFIG_LOG=y\n",
                     "platform native_posix_64: use native_sim/native/64")

    def test_unqualified_pico2_platform(self):
        self.planted("samples/x/sample.yaml",
                     CLEAN_YAML.replace("w5500_evb_pico2/rp2350a/m33", "w5500_evb_pico2"),
                     "platform w5500_evb_pico2: use w5500_evb_pico2/rp2350a/m33")

    def test_board_file_never_applied(self):
        self.planted("tests/y/boards/native_posix_64.conf", "CONFIG_LOG=y\n",
                     "tests/y/boards/native_posix_64.conf:0: boardfile native_posix_64")

    def test_removed_symbol_in_overlay_code(self):
        self.planted("samples/x/boards/rpi_pico.overlay",
                     CLEAN_OVERLAY + "/* CONFIG_NET_SLIP_TAP used: */ // CONFIG_X\n"
                     "#if CONFIG_NET_SLIP_TAP\n#endif\n",
                     "samples/x/boards/rpi_pico.overlay:6: kconfig NET_SLIP_TAP")

    def test_malformed_list_is_an_error(self):
        with tree(self.clean()) as d:
            bad = os.path.join(d, "list.txt")
            with open(bad, "w", encoding="utf-8") as f:
                f.write("kconfig FOO BAR\n")  # no source
            rc, out = run(d, "--list", bad)
            self.assertEqual(rc, 2, out)
            self.assertIn("want", out)


if __name__ == "__main__":
    unittest.main()
