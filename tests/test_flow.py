"""802.3x flow control: PAUSE frames received stop the transmitter for their time; the receive
FIFO filling past FCRTH sends XOFF, and draining under FCRTL sends XON."""

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from hw.desc import TXD_CMD
from hw.flow import QUANTUM_CYCLES
from hw.regmap import reg
from sim.ethernet import PREAMBLE, fcs, to_wire

from harness import COMPILED, TX_BUFFERS, nic_run

GUEST, GATEWAY = "52:54:00:12:34:56", "52:55:0a:00:02:02"
FLOW_ADDRESS = bytes.fromhex("0180c2000001")
CTRL = reg.CTRL
RCTL_ON = reg.RCTL.EN.mask | reg.RCTL.SECRC.mask
COUNTERS = (reg.XONRXC, reg.XOFFRXC, reg.FCRUC, reg.XONTXC, reg.XOFFTXC, reg.GPRC, reg.GPTC)


def control_frame(time, *, opcode=1, dst=FLOW_ADDRESS):
    body = dst + bytes.fromhex(GATEWAY.replace(":", "")) + b"\x88\x08" \
        + opcode.to_bytes(2, "big") + time.to_bytes(2, "big")
    return body + bytes(60 - len(body))


def ping():
    return bytes(Ether(src=GUEST, dst=GATEWAY) / IP(src="10.0.2.15", dst="10.0.2.2")
                 / ICMP() / bytes(100))


async def flow_setup(regs, ctrl_bits):
    """What e1000_setup_link writes, and the CTRL bits asked for."""
    await regs.write(reg.FCAL, 0x00C28001)
    await regs.write(reg.FCAH, 0x0100)
    await regs.write(reg.FCT, 0x8808)
    await regs.write(reg.CTRL, await regs.read(reg.CTRL) | ctrl_bits)


def run_pause(received, *, ctrl_bits=CTRL.RFCE.mask, rctl=RCTL_ON, frames=2, gap=0, **kwargs):
    """Send ``received`` (frames, ``gap`` cycles apart) to the NIC, then hand it ``frames``
    frames to send at once. Returns the cycle the last received frame ended, the cycles the
    transmitted frames started, the receive descriptors' lengths and the counters."""
    async def tb(backend, regs, rings):
        await flow_setup(regs, ctrl_bits)
        await rings.rx_setup(rctl=rctl)
        await rings.tx_setup()
        p = ping()
        for i in range(frames):
            backend.mem_write(TX_BUFFERS + 2048 * i, p)
            rings.tx_desc(i, TX_BUFFERS + 2048 * i, len(p), TXD_CMD.EOP | TXD_CMD.IFCS)
        for frame in received:
            backend.send(to_wire(frame))
            await backend.cycles(gap)
        while sum(way == "rx" for way, _, _ in backend.wire_log) < len(received):
            await backend.cycles(10)
        rx = [(start, f) for way, start, f in backend.wire_log if way == "rx"]
        last_end = rx[-1][0] + len(rx[-1][1].raw)
        await regs.write(reg.TDT, frames)
        await rings.settle(2000 + 64 * max([0] + [int.from_bytes(f[16:18], "big")
                                                  for f in received]))
        starts = [start for way, start, _ in backend.wire_log if way == "tx"]
        lengths = [rings.rx_status(i).length for i in range(4)]
        return last_end, starts, lengths, {r.name: await regs.read(r) for r in COUNTERS}
    return nic_run(tb, **kwargs)


def test_a_pause_stops_the_transmitter_for_its_time():
    end, starts, lengths, counters = run_pause([control_frame(40)])
    # The transmitter holds its frames for 40 quanta of 64 cycles from the PAUSE, and not
    # many cycles more.
    assert 40 * QUANTUM_CYCLES <= starts[0] - end <= 40 * QUANTUM_CYCLES + 48, starts[0] - end
    assert counters["XOFFRXC"] == 1 and counters["GPTC"] == 2
    # Not for us by address: not delivered.
    assert counters["GPRC"] == 0 and lengths == [0] * 4
    # Without RFCE it is counted, and the transmitter goes on at once.
    end, starts, _, counters = run_pause([control_frame(40)], ctrl_bits=0)
    assert starts[0] - end < 10 * QUANTUM_CYCLES and counters["XOFFRXC"] == 1


def test_xon_ends_a_pause_and_a_pause_to_our_address_counts():
    ours = bytes.fromhex(GUEST.replace(":", ""))
    end, starts, _, counters = run_pause([control_frame(1000), control_frame(0, dst=ours)],
                                         gap=300, backend=COMPILED)
    assert starts[0] - end < 10 * QUANTUM_CYCLES, starts[0] - end
    assert counters["XOFFRXC"] == 1 and counters["XONRXC"] == 1


def test_control_frames_reach_the_host_only_as_rctl_says():
    ours = bytes.fromhex(GUEST.replace(":", ""))
    unsupported, pause = control_frame(5, opcode=2, dst=ours), control_frame(5, dst=ours)
    # A PAUSE that passes the filter is delivered unless DPF; another control frame only with
    # PMCF, and it is counted as unsupported.
    _, _, lengths, counters = run_pause([unsupported, pause], gap=100, frames=0)
    assert lengths[:2] == [60, 0] and counters["FCRUC"] == 1 and counters["XOFFRXC"] == 1
    _, _, lengths, counters = run_pause([unsupported, pause], gap=100, frames=0,
                                        rctl=RCTL_ON | reg.RCTL.DPF.mask | reg.RCTL.PMCF.mask)
    assert lengths[:2] == [60, 0] and counters["FCRUC"] == 1
    assert counters["GPRC"] == 1


def test_the_receive_fifo_asks_for_xoff_and_xon():
    station = bytes.fromhex(GUEST.replace(":", ""))

    def pause_on_wire(time):
        body = FLOW_ADDRESS + station + b"\x88\x08\x00\x01" + time.to_bytes(2, "big")
        body += bytes(60 - len(body))
        return PREAMBLE + body + fcs(body)

    async def tb(backend, regs, rings):
        await regs.write(reg.FCTTV, 16)
        await regs.write(reg.FCRTH, reg.FCRTH.RTH.put(64))          # 512 bytes
        await regs.write(reg.FCRTL, reg.FCRTL.RTL.put(32) | reg.FCRTL.XONE.mask)
        await flow_setup(regs, CTRL.TFCE.mask)
        await rings.rx_setup(give=0)        # no buffers: frames stay in the FIFO
        await rings.tx_setup()
        p = bytes(Ether(src=GATEWAY, dst=GUEST) / IP() / ICMP() / bytes(200))
        for _ in range(3):
            backend.send(to_wire(p))
        # Over the threshold from the third frame on: an XOFF, and another each time half of
        # its pause has gone by.
        await backend.cycles(3000)
        held = [(start, f.raw) for way, start, f in backend.wire_log if way == "tx"]
        await regs.write(reg.RDT, 7)        # buffers: the FIFO drains, an XON goes
        await backend.cycles(1500)
        sent = [(start, f.raw) for way, start, f in backend.wire_log if way == "tx"]
        return held, sent, {r.name: await regs.read(r) for r in COUNTERS}

    held, sent, counters = nic_run(tb, backend=COMPILED)
    assert len(held) >= 3 and {raw for _, raw in held} == {pause_on_wire(16)}
    # Refreshed every 8 quanta (and the gap and the frame's own time).
    assert all(8 * QUANTUM_CYCLES <= b - a <= 8 * QUANTUM_CYCLES + 120
               for (a, _), (b, _) in zip(held, held[1:]))
    # Once the buffers come, the FIFO drains and the last word is an XON.
    assert [raw for _, raw in sent] == [pause_on_wire(16)] * (len(sent) - 1) + [pause_on_wire(0)]
    assert counters["XOFFTXC"] == len(sent) - 1 and counters["XONTXC"] == 1
    assert counters["GPTC"] == 0 and counters["GPRC"] == 3


def test_the_driver_resolves_flow_control_with_the_partner_as_linux_does():
    # The driver asks for both directions (the EEPROM's ICW2 pause bits) and advertises them;
    # a partner that advertises nothing leaves RX only, one that advertises pause both ways.
    from driver.e1000.hw import FC_PAUSE_TIME
    from sim.machine import Machine
    results = {}
    for partner_pause in (False, True):
        lines = []
        machine = Machine(console=lines.append, backend=COMPILED, partner_pause=partner_pause)

        async def scenario(world):
            await world.shell.script(["insmod e1000", "ip link set eth0 up", "ethtool -a eth0"])
            hw = world.adapter().hw
            return ([await hw.er32(r) for r in (reg.CTRL, reg.FCAL, reg.FCAH, reg.FCT,
                                                 reg.FCTTV, reg.FCRTL, reg.FCRTH)],
                    await hw.read_phy_reg(4))

        (ctrl, *flow), anar = machine.run(scenario)
        link = [line for line in lines if "Link is Up" in line]
        pause = lines[lines.index("/ # ethtool -a eth0") + 1:]
        results[partner_pause] = (ctrl & (CTRL.RFCE.mask | CTRL.TFCE.mask), flow, anar, link,
                                  pause)
    for ctrl, flow, anar, _, _ in results.values():
        assert anar & 0x0C00 == 0x0C00
        # 48 KB of receive buffer (PBA): XOFF at 9/10 of it, XON 8 bytes under.
        high = (48 * 1024 * 9 // 10) & 0xFFF8
        assert flow == [0x00C28001, 0x0100, 0x8808, FC_PAUSE_TIME,
                        (high - 8) | reg.FCRTL.XONE.mask, high]
    assert results[False][0] == CTRL.RFCE.mask
    assert results[False][3][0].endswith("Flow Control: RX")
    assert results[True][0] == CTRL.RFCE.mask | CTRL.TFCE.mask
    assert results[True][3][0].endswith("Flow Control: RX/TX")
    assert results[False][4] == ["Pause parameters for eth0:", "Autonegotiate:\ton",
                                 "RX:\t\ton", "TX:\t\toff"]
    assert results[True][4][2:] == ["RX:\t\ton", "TX:\t\ton"]
