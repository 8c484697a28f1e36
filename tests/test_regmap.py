"""The register map itself: consistent, matching the reference values, and documented."""

import pathlib

import pytest

from hw import regmap
from hw.regmap import Access, reg, register_at


def test_no_register_overlaps_and_all_fit_bar0():
    seen = {}
    for r in regmap.REGISTERS:
        for n in range(r.count):
            off = r.at(n)
            assert off not in seen, f"{r.name}[{n}] overlaps {seen[off]}"
            assert 0 <= off < regmap.BAR0_SIZE and off % 4 == 0
            seen[off] = r.name


def test_fields_fit_and_do_not_overlap():
    for r in regmap.REGISTERS:
        used = 0
        for f in r.fields:
            assert f.lsb + f.width <= 32, f"{r.name}.{f.name}"
            assert not used & f.mask, f"{r.name}.{f.name} overlaps another field"
            used |= f.mask


def test_reference_values():
    assert (reg.CTRL.offset, reg.CTRL.reset) == (0x0000, 0x00140240)
    assert (reg.STATUS.offset, reg.STATUS.reset) == (0x0008, 0x80080783)
    assert reg.CTRL.RST.mask == 1 << 26 and reg.CTRL.RST.self_clearing
    assert (reg.PBA.reset, reg.MANC.reset, reg.LEDCTL.reset) == (0x00100030, 0x00222300, 0x602)
    assert reg.MANC.ARP_EN.mask == 1 << 13
    assert (reg.MTA.offset, reg.MTA.count) == (0x5200, 128)
    assert (reg.RAL.at(1), reg.RAH.at(1)) == (0x5408, 0x540C)
    assert (reg.GORCL.offset, reg.GORCH.offset, reg.GORCH.access) == (0x4088, 0x408C, Access.CNTH)
    assert (reg.TPR.offset, reg.TPT.offset, reg.BPTC.offset) == (0x40D0, 0x40D4, 0x40F4)
    assert reg.ICR.access is Access.RCW1C and reg.IMC.access is Access.WCO
    drivers_mask = (reg.IMS.TXDW.mask | reg.IMS.LSC.mask | reg.IMS.RXSEQ.mask
                    | reg.IMS.RXDMT0.mask | reg.IMS.RXT0.mask)
    assert drivers_mask == 0x9D


def test_lookup_by_offset():
    assert register_at(0x5408) == (reg.RAL, 1)
    assert register_at(0x00C0) == (reg.ICR, 0)
    assert register_at(0x4024) is None      # a hole in the statistics block
    assert register_at(0x0004) is None


def test_register_document_is_generated_from_the_map():
    doc = pathlib.Path(__file__).parent.parent / "docs" / "registers.md"
    assert doc.read_text() == regmap.markdown() + "\n", \
        "docs/registers.md is stale: run `make regs`"


def test_register_values_are_composed_from_fields():
    from sim import regvalues
    assert reg.TCTL.value(EN=1, PSP=1, CT=0x10, COLD=0x40) == regvalues.TCTL == 0x0004010A
    assert regvalues.TIPG == 0x00602008 and regvalues.RCTL == 0x04008002
    assert reg.RCTL.value() == 0
    with pytest.raises(AttributeError, match="register TCTL has no field NOPE"):
        reg.TCTL.value(NOPE=1)
    with pytest.raises(AssertionError, match="CT: 0x100 does not fit"):
        reg.TCTL.value(CT=0x100)


def test_field_values_and_buffer_sizes_come_from_the_map():
    assert (reg.MDIC.OP.READ, reg.MDIC.OP.WRITE) == (0b10, 0b01)
    with pytest.raises(AttributeError, match="OP has no value ERASE"):
        reg.MDIC.OP.ERASE
    assert regmap.rx_buffer_bits(2048) == 0
    assert regmap.rx_buffer_bits(4096) == (reg.RCTL.BSEX.mask
                                           | reg.RCTL.BSIZE.put(reg.RCTL.BSIZE.B256))
    assert regmap.rx_buffer_bits(16384) == reg.RCTL.value(BSEX=1, BSIZE=1)
    with pytest.raises(ValueError, match="no receive buffer size of 3000 bytes"):
        regmap.rx_buffer_bits(3000)
    assert sorted(set(regmap.RX_BUFFER_SIZES.values())) == [256, 512, 1024, 2048, 4096, 8192,
                                                           16384]


def test_a_registers_view_names_its_fields():
    """``reg.X.view(value)`` slices a value by the map's fields, in lower case."""
    from amaranth.hdl import Const
    value = Const(reg.RCTL.value(EN=1, BSIZE=reg.RCTL.BSIZE.B512, BSEX=1, RDMTS=2), 32)
    view = reg.RCTL.view(value)
    assert [(name, field.offset, field.width) for name, field in reg.RCTL.layout] == \
        [(f.name.lower(), f.lsb, f.width) for f in reg.RCTL.fields]
    fields = {name: Const.cast(getattr(view, name)).value
              for name in ("bsize", "bsex", "rdmts", "en", "secrc")}
    assert fields == {"bsize": 2, "bsex": 1, "rdmts": 2, "en": 1, "secrc": 0}


def test_each_block_answers_only_the_registers_the_map_says_it_owns():
    """Who implements a register is said once, in the map (``Register.owner``): each block's
    read multiplexer answers only registers it owns, every readable register with behaviour of
    its own is answered by its owner, and the register file stores exactly the rest."""
    import re
    from hw.regfile import PLAIN
    root = pathlib.Path(__file__).resolve().parent.parent
    answered = {}
    for owner, source in regmap.SOURCES.items():
        text = (root / source).read_text()
        # A read multiplexer's entries, and the head register a ring's ``RingHead`` answers.
        answered[owner] = {a or b for a, b in re.findall(
            r"\breg\.([A-Z][A-Z0-9_]*)\.index\s*:|\bRingHead\(reg\.([A-Z][A-Z0-9_]*)\)", text)}
    for owner, names in answered.items():
        for name in names:
            assert reg.__getattr__(name).owner == owner, (name, owner)
    readable = {Access.RW, Access.RO, Access.RCW1C, Access.WS, Access.W1C}
    for r in regmap.REGISTERS:
        if r.owner not in ("regfile", "stats") and r.access in readable:
            assert r.name in answered[r.owner], (r.name, r.owner)
    assert {r.name for r in PLAIN} == {r.name for r in regmap.REGISTERS
                                       if r.owner == "regfile" and r.count == 1}
    assert "`hw/control.py`" in regmap.markdown()
