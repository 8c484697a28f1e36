"""Faults a driver must be able to survive: a software reset at any cycle, DMA in flight or not.

A reset cannot recall what the core has asked of host memory: read data and write completions
for commands accepted before CTRL.RST still arrive after it, and a write burst whose command was
accepted still owes its data. After the reset and the driver's normal bring-up the device must
work, and no DMA may land anywhere the driver did not point it.
"""

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from driver.netdev import SkBuff
from hw.bus import Space
from hw.regmap import reg
from sim.ethernet import to_wire
from sim.machine import Machine

from harness import COMPILED

UP = ["insmod e1000", "ip link set eth0 up", "ip addr add 10.0.2.15/24 dev eth0"]


def echo_request(seq, size=56):
    return bytes(Ether(src="52:55:0a:00:02:02", dst="52:54:00:12:34:56")
                 / IP(src="10.0.2.2", dst="10.0.2.15", ttl=64) / ICMP(id=7, seq=seq)
                 / (bytes(range(256)) * 8)[:size])


def reset_during_traffic(delays, direction):
    """For each delay: bring the interface up, start DMA (a frame to send, or one arriving),
    reset the core ``delay`` cycles later with CTRL.RST, then unload, load and bring the
    driver up again and ping. Returns, per delay, (ping status, echo replies received)."""
    lines = []
    machine = Machine(console=lines.append, backend=COMPILED)

    async def scenario(world):
        backend = world.backend
        outcomes = []
        for delay in delays:
            for line in UP:
                assert await world.shell.run(line) == 0, "\n".join(lines)
            adapter = world.adapter()
            if direction == "tx":
                frame = echo_request(delay, size=1400)
                await adapter.netdev.ops.ndo_start_xmit(SkBuff(frame), adapter.netdev)
            else:
                for seq in range(3):
                    backend.send(to_wire(echo_request(seq, size=1000)), not_before=backend.now)
            await backend.cycles(delay)
            await backend.mmio(Space.MEM, reg.CTRL.offset, write=True, data=reg.CTRL.RST.mask)
            await backend.cycles(2000)
            status = 0
            for line in ["rmmod e1000", *UP, "ping -c 2 10.0.2.2"]:
                status |= await world.shell.run(line)
            outcomes.append((delay, status))
            await world.shell.run("rmmod e1000")
        return outcomes

    outcomes = machine.run(scenario)
    return outcomes, "\n".join(lines)


# TX: from before the descriptor fetch (host memory answers reads after 1 us) through the
# data read to after the write-back. RX: three 1,042-byte frames, 1,062 cycles apart on the
# wire, each written to its buffer and its descriptor written back.
@pytest.mark.parametrize("direction, delays", [("tx", range(0, 420, 7)),
                                               ("rx", range(900, 4200, 29))])
def test_reset_at_any_cycle_of_dma_leaves_a_working_device(direction, delays):
    outcomes, text = reset_during_traffic(list(delays), direction)
    failed = [delay for delay, status in outcomes if status]
    assert failed == [], text[-3000:]


def _meddle_while_running(meddle):
    """Rings of 8 both ways and ping-sized frames to send; ``await meddle(backend, regs,
    rings)`` interferes while the engines run and returns what it wants to check. Returns that,
    and the addresses outside the rings and posted buffers whose contents changed."""
    from harness import MEM, RX_BUFFERS, RX_RING, TX_BUFFERS, TX_RING, nic_run
    from hw.desc import TXD_CMD
    ping = echo_request(1)
    cmd = TXD_CMD.EOP | TXD_CMD.IFCS | TXD_CMD.RS

    async def tb(backend, regs, rings):
        await rings.tx_setup(count=8)
        await rings.rx_setup(count=8)
        backend.mem_write(TX_BUFFERS, ping)
        for i in range(8):
            rings.tx_desc(i, TX_BUFFERS, len(ping), cmd)
        before = bytes(backend.host_memory())
        result = await meddle(backend, regs, rings)
        after = bytes(backend.host_memory())
        return result, [i for i in range(len(before)) if before[i] != after[i]]

    result, changed = nic_run(tb, backend=COMPILED)
    posted = [(TX_RING, TX_RING + 8 * 16), (RX_RING, RX_RING + 8 * 16),
              (RX_BUFFERS, RX_BUFFERS + 8 * 2048)]
    return result, [hex(MEM + i) for i in changed
                    if not any(lo <= MEM + i < hi for lo, hi in posted)]


def test_head_written_while_the_engines_run_keeps_dma_inside_the_rings():
    # Software should move TDH and RDH only with the engine off; when it moves them anyway,
    # past the end of the ring, no descriptor write-back may land outside the ring.
    async def meddle(backend, regs, rings):
        await regs.write(reg.TDT, 2)
        await rings.settle(3000)
        await regs.write(reg.TDH, 20)                   # past the end, the engine on
        await regs.write(reg.RDH, 30)
        await regs.write(reg.TDT, 6)
        for seq in range(3):
            backend.send(to_wire(echo_request(seq)))
        await rings.settle(8000)
        return await regs.read(reg.TDH), await regs.read(reg.RDH)

    heads, outside = _meddle_while_running(meddle)
    assert outside == [], outside[:8]
    assert all(h < 8 for h in heads), heads


def test_ring_moved_or_shrunk_while_the_engines_run_keeps_dma_inside_the_rings():
    # The ring registers are to be written with the engine off. Written anyway while it runs
    # (shrunk below the head, moved elsewhere), they are ignored: reads give the old values and
    # the engines go on inside the rings they were started on.
    from harness import MEM, RX_RING, TX_RING

    async def meddle(backend, regs, rings):
        await regs.write(reg.TDT, 5)
        for seq in range(5):
            backend.send(to_wire(echo_request(seq)))
        await rings.settle(3000)
        for register, value in ((reg.TDLEN, 32), (reg.RDLEN, 32), (reg.TDBAL, MEM + 0x8000),
                                (reg.RDBAL, MEM + 0x9000)):
            await regs.write(register, value)
        await regs.write(reg.TDT, 7)
        await regs.write(reg.RDT, 3)
        for seq in range(5, 9):
            backend.send(to_wire(echo_request(seq)))
        await rings.settle(8000)
        values = [await regs.read(r) for r in (reg.TDLEN, reg.RDLEN, reg.TDBAL, reg.RDBAL,
                                               reg.TDH, reg.RDH)]
        return values, len([1 for d, _, _ in backend.wire_log if d == "tx"])

    (values, sent), outside = _meddle_while_running(meddle)
    assert outside == [], outside[:8]
    assert values == [128, 128, TX_RING, RX_RING, 7, 1]
    assert sent == 7
