"""The MACs' parts on their own: the transmit gap and checksum insertion, the receive header
fields and the receive verdict."""

import pytest

from hw.regmap import reg
from hw.rxmac import MAX_FRAME, MAX_LONG_FRAME, RxControl, RxHeader, RxOutcome, RxVerdict
from hw.txmac import MIN_GAP, TxGap, TxInsertion

from peers import simulate


@pytest.mark.parametrize("setting", [0, 8, 12, 13, 40])
def test_the_gap_counts_tipg_less_three_cycles(setting):
    dut = TxGap()
    seen = {}

    async def bench(ctx):
        seen["reset"] = ctx.get(dut.over)
        ctx.set(dut.setting, setting)
        ctx.set(dut.restart, 1)
        for _ in range(3):                  # the setting is registered before it is loaded
            await ctx.tick()
        ctx.set(dut.restart, 0)
        low, ending = 0, []
        while not ctx.get(dut.over):
            if ctx.get(dut.ending):
                ending.append(low)
            low += 1
            await ctx.tick()
            assert low < 100
        seen["low"], seen["ending"] = low, ending
        for _ in range(5):                  # it stays over until restarted
            await ctx.tick()
            assert ctx.get(dut.over) and not ctx.get(dut.ending)

    simulate(dut, bench)
    count = max(setting, MIN_GAP) - 3
    assert seen["reset"] == 1
    assert seen["low"] == count
    assert seen["ending"] == [count - 1]


def _insert(frame, *, ip=None, tu=None, tagged=False, waited=None):
    """Choose ``frame``'s bytes through ``TxInsertion`` as the MAC does, a tag's four bytes
    after byte 11 when ``tagged``; returns the bytes it gave (the tag's as None). With
    ``waited`` (other checksums), those are offered first for some cycles while the MAC
    waits to start (``prepare``), and these in the cycle it starts."""
    dut = TxInsertion()

    def checksums(ip, tu):
        return {"ip": ip is not None, "ipcso": ip[0] if ip else 0, "ip_sum": ip[1] if ip else 0,
                "tu": tu is not None, "tucso": tu[0] if tu else 0, "tu_sum": tu[1] if tu else 0}
    sums = checksums(ip, tu)
    out = []

    async def bench(ctx):
        if waited is not None:
            ctx.set(dut.offered, checksums(*waited))
            ctx.set(dut.tagged, not tagged)
            ctx.set(dut.prepare, 1)
            await ctx.tick().repeat(3)
        ctx.set(dut.offered, sums)
        ctx.set(dut.sums, sums)
        ctx.set(dut.offered_valid, 1)
        ctx.set(dut.have_sums, 1)
        ctx.set(dut.tagged, tagged)
        ctx.set(dut.load, 1)
        await ctx.tick()
        ctx.set(dut.load, 0)
        ctx.set(dut.prepare, 0)
        ctx.set(dut.step, 1)
        data = iter(frame)
        for length in range(len(frame) + (4 if tagged else 0)):
            in_tag = tagged and 12 <= length < 16
            ctx.set(dut.length, length)
            ctx.set(dut.tag, in_tag)
            if in_tag:
                out.append(None)
            else:
                ctx.set(dut.i, next(data))
                out.append(ctx.get(dut.o))
            await ctx.tick()

    simulate(dut, bench)
    return out


@pytest.mark.parametrize("tagged", [False, True])
@pytest.mark.parametrize("waited", [None, ((30, 0x1111), (40, 0x2222))])
def test_checksums_go_in_at_their_offsets(tagged, waited):
    # With ``waited``: while the MAC waits to start (the line paused, say), the offsets follow
    # what is offered; the frame gets the checksums offered in the cycle it starts.
    frame = bytes(range(1, 61))
    out = _insert(frame, ip=(24, 0xA1B2), tu=(50, 0xC3D4), tagged=tagged, waited=waited)
    expected = bytearray(frame)
    expected[24:26] = b"\xa1\xb2"
    expected[50:52] = b"\xc3\xd4"
    expected = list(expected)
    if tagged:
        expected[12:12] = [None] * 4
    assert out == expected


def test_a_checksum_may_start_the_frame_or_end_right_before_the_tag():
    frame = bytes(range(100, 160))
    out = _insert(frame, ip=(0, 0x1234), tu=(10, 0x5678), tagged=True)
    expected = [0x12, 0x34] + list(frame[2:10]) + [0x56, 0x78] + [None] * 4 + list(frame[12:])
    assert out == expected


def test_no_checksums_no_changes():
    frame = bytes(range(60))
    assert _insert(frame) == list(frame)


def _header(frame, *, vme=1, vet=0x8100, fct=0x8808):
    """Feed ``frame`` through ``RxHeader`` with the words packed as the receive MAC packs them
    (no stripping), after a ``start``; returns the fields, and the bytes at which
    ``address_in`` was high."""
    dut = RxHeader()
    result = {}

    async def bench(ctx):
        ctx.set(dut.vme, vme)
        ctx.set(dut.vet, vet)
        ctx.set(dut.fct, fct)
        ctx.set(dut.start, 1)
        await ctx.tick()
        await ctx.tick()                # VET and FCT are registered
        ctx.set(dut.start, 0)
        assert not ctx.get(dut.addressed) and not ctx.get(dut.tci_in)
        word = [0] * 8
        pulses = []
        ctx.set(dut.valid, 1)
        for length, byte in enumerate(frame):
            ctx.set(dut.byte, byte)
            ctx.set(dut.word, int.from_bytes(bytes(word), "little"))
            if ctx.get(dut.address_in):
                pulses.append(length)
            await ctx.tick()
            word[length % 8] = byte
        ctx.set(dut.valid, 0)
        for name in ("dest", "addressed", "tagged", "stripping", "control", "tci", "tci_in",
                     "pause_time"):
            result[name] = ctx.get(getattr(dut, name))
        result["pulses"] = pulses

    simulate(dut, bench)
    return result


def test_header_fields_of_a_tagged_frame():
    dest = bytes.fromhex("0102030405a6")
    frame = dest + bytes(6) + b"\x81\x00" + b"\x20\x05" + b"\x08\x00" + bytes(40)
    got = _header(frame)
    assert got["dest"] == int.from_bytes(dest, "little")
    assert got["pulses"] == [5]
    assert (got["addressed"], got["tagged"], got["stripping"], got["control"]) == (1, 1, 1, 0)
    assert (got["tci"], got["tci_in"]) == (0x2005, 1)
    # Without CTRL.VME a tag is recognized but stays in the data.
    got = _header(frame, vme=0)
    assert (got["tagged"], got["stripping"]) == (1, 0)


def test_header_fields_of_a_pause_frame():
    frame = bytes.fromhex("0180c2000001") + bytes(6) + b"\x88\x08" + b"\x00\x01" + b"\x12\x34"
    got = _header(frame + bytes(42))
    assert (got["tagged"], got["control"], got["tci"], got["pause_time"]) == (0, 1, 1, 0x1234)


def test_a_fragment_never_gets_an_address():
    got = _header(bytes(5))
    assert got["pulses"] == [] and got["addressed"] == 0 and got["tci_in"] == 0


FCA = 0x0100_00C2_8001          # 01:80:C2:00:00:01 as the core holds it (byte 0 lowest)


def _verdict(*, length=64, crc=True, overflow=False, rx_error=False, control=False, passed=True,
             exact=False, dest=0, opcode=0, pause_time=0, rctl=0, busy=False):
    dut = RxVerdict()
    result = {}

    async def bench(ctx):
        for name, value in (("length", length), ("crc_match", crc), ("overflow", overflow),
                            ("rx_error", rx_error), ("control", control), ("passed", passed),
                            ("exact", exact), ("dest", dest), ("fca", FCA), ("opcode", opcode),
                            ("pause_time", pause_time), ("busy", busy)):
            ctx.set(getattr(dut, name), value)
        ctx.set(dut.rctl.as_value(), rctl)
        await ctx.tick()                # the PAUSE classification's registers
        await ctx.tick()
        ctx.set(dut.check, 1)
        await ctx.tick()
        ctx.set(dut.check, 0)
        await ctx.tick()
        for name in ("outcome", "keep", "control_kind", "settled", "hurried", "crc_ok"):
            result[name] = ctx.get(getattr(dut, name))

    simulate(dut, bench)
    return result


@pytest.mark.parametrize("frame, outcome, keep", [
    (dict(), RxOutcome.ACCEPTED, 1),
    (dict(overflow=True, rx_error=True, crc=False), RxOutcome.OVERRUN, 0),
    (dict(rx_error=True, crc=False, passed=False), RxOutcome.RX_ERROR, 0),
    (dict(length=40, crc=False, passed=False), RxOutcome.FRAGMENT, 0),
    (dict(length=MAX_FRAME + 1, crc=False, passed=False), RxOutcome.JABBER, 0),
    (dict(passed=False, crc=False), RxOutcome.FILTERED, 0),
    (dict(crc=False), RxOutcome.CRC_ERROR, 0),
    (dict(length=63), RxOutcome.UNDERSIZE, 0),
    (dict(length=MAX_FRAME + 1), RxOutcome.OVERSIZE, 0),
    (dict(length=MAX_FRAME + 1, rctl=reg.RCTL.LPE.mask), RxOutcome.ACCEPTED, 1),
    (dict(length=MAX_LONG_FRAME + 1, rctl=reg.RCTL.LPE.mask), RxOutcome.OVERSIZE, 0),
    # RCTL.SBP keeps a bad frame that passed the filter, but never an overrun.
    (dict(crc=False, rctl=reg.RCTL.SBP.mask), RxOutcome.CRC_ERROR, 1),
    (dict(crc=False, passed=False, rctl=reg.RCTL.SBP.mask), RxOutcome.FILTERED, 0),
    (dict(overflow=True, rctl=reg.RCTL.SBP.mask), RxOutcome.OVERRUN, 0),
])
def test_outcomes_in_their_order_of_precedence(frame, outcome, keep):
    got = _verdict(**frame)
    assert (got["outcome"], got["keep"], got["crc_ok"]) == (outcome, keep, frame.get("crc", True))
    assert got["control_kind"] == RxControl.NONE and got["settled"] == 1


@pytest.mark.parametrize("frame, kind, outcome", [
    (dict(dest=FCA, opcode=1, pause_time=0x100), RxControl.XOFF, RxOutcome.ACCEPTED),
    (dict(dest=FCA, opcode=1), RxControl.XON, RxOutcome.ACCEPTED),
    (dict(exact=True, opcode=1, pause_time=5), RxControl.XOFF, RxOutcome.ACCEPTED),
    # A PAUSE to another address, or another opcode: unsupported.
    (dict(dest=FCA + 1, opcode=1), RxControl.UNSUPPORTED, RxOutcome.FILTERED),
    (dict(dest=FCA, opcode=2), RxControl.UNSUPPORTED, RxOutcome.FILTERED),
    (dict(dest=FCA, opcode=2, rctl=reg.RCTL.PMCF.mask), RxControl.UNSUPPORTED,
     RxOutcome.ACCEPTED),
    # RCTL.DPF keeps a PAUSE from the host; a bad one is no control frame.
    (dict(dest=FCA, opcode=1, rctl=reg.RCTL.DPF.mask), RxControl.XON, RxOutcome.FILTERED),
    (dict(dest=FCA, opcode=1, crc=False), RxControl.NONE, RxOutcome.CRC_ERROR),
])
def test_control_frames(frame, kind, outcome):
    got = _verdict(control=True, **frame)
    assert (got["control_kind"], got["outcome"]) == (kind, outcome)


def test_a_verdict_before_the_filter_has_settled_is_hurried():
    got = _verdict(busy=True)
    assert got["settled"] == 0
    assert (got["outcome"], got["hurried"]) == (RxOutcome.ACCEPTED, RxOutcome.FILTERED)
    # Outcomes that need no filter stand as they are.
    got = _verdict(busy=True, rx_error=True)
    assert got["hurried"] == RxOutcome.RX_ERROR
