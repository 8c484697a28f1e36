"""The core exports to Verilog and passes Verilator's linter with only the generator's waivers."""

import os
import re
import shutil
import subprocess

import pytest

from hw.export import export

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def verilog(tmp_path_factory):
    path = tmp_path_factory.mktemp("verilog") / "e1000.v"
    return path, export(str(path))


def test_export_has_the_top_module_and_its_ports(verilog):
    _, text = verilog
    top = re.search(r"^module e1000\((.*?)\);", text, re.M | re.S)
    assert top
    ports = {p.strip() for p in top.group(1).split(",")}
    for port in ("clk", "rst", "mmio__req__valid", "mmio__resp__payload", "dma__rd_cmd__valid",
                 "dma__wr_data__payload", "gmii__txd", "gmii__rx_dv", "mdio__mdc",
                 "mdio__mdio_i", "phy_link", "bus_master", "irq"):
        assert port in ports, port


@pytest.mark.skipif(shutil.which("verilator") is None,
                    reason="verilator is not installed (.ci/run installs it as root)")
def test_lint_is_clean_with_only_the_generator_waivers(verilog):
    path, _ = verilog
    makefile = open(os.path.join(ROOT, "Makefile")).read()
    waivers = re.search(r"^LINT_WAIVERS := (.*)$", makefile, re.M).group(1).split()
    assert waivers == ["-Wno-WIDTH", "-Wno-CASEINCOMPLETE"]
    result = subprocess.run(["verilator", "--lint-only", *waivers, "--top-module", "e1000",
                             str(path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "%Warning" not in result.stderr and "%Error" not in result.stderr
