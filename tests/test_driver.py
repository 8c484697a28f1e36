"""The driver's datapath: NAPI under a burst, replies from the guest's stack, statistics."""

import struct

from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import Ether

from driver.netdev import SkBuff
from hw.regmap import reg, rx_buffer_bits
from sim.ethernet import received, to_wire
from sim.machine import Machine

from harness import COMPILED

UP = ["insmod e1000 ring=32", "ip link set eth0 up", "ip addr add 10.0.2.15/24 dev eth0"]


def echo_request(seq):
    return bytes(Ether(src="52:55:0a:00:02:02", dst="52:54:00:12:34:56")
                 / IP(src="10.0.2.2", dst="10.0.2.15", ttl=64) / ICMP(id=99, seq=seq)
                 / bytes(range(56)))


def test_burst_through_napi_and_the_stack_answers_every_echo():
    lines = []
    machine = Machine(console=lines.append, backend=COMPILED)

    async def scenario(world):
        await world.shell.script(UP)
        backend, kernel = world.backend, world.kernel
        adapter = world.adapter()
        # Twenty echo requests back to back at line rate, then let the guest answer.
        for seq in range(20):
            backend.send(to_wire(echo_request(seq)))
        replies = lambda: [f for _, _, f in backend.wire_log
                           if f.frame and f.frame[12:14] == b"\x08\x00" and f.frame[34] == 0]
        await kernel.wait_event_timeout(lambda: len(replies()) == 20, 2000)
        # The last reply is on the wire before the driver reclaims its descriptor (its DD is
        # written back once the MAC has taken the data, then NAPI cleans the ring).
        ring = adapter.tx_ring
        await kernel.wait_event_timeout(lambda: ring.next_to_clean == ring.next_to_use, 200)
        await world.shell.run("ip -s link show eth0")
        return replies(), adapter.stats, await adapter.hw.er32(reg.MPC), adapter.most_per_poll

    replies, stats, missed, most_per_poll = machine.run(scenario)
    seqs = [struct.unpack("!H", f.frame[40:42])[0] for f in replies]
    assert seqs == list(range(20))
    assert missed == 0
    assert stats.rx_packets == 21           # the echo requests and the gateway's ARP reply
    assert stats.tx_packets == 21           # the ARP request and the echo replies
    # NAPI: one poll takes several frames of the burst.
    assert most_per_poll > 1
    text = "\n".join(lines)
    assert "RX: bytes  packets  errors  dropped missed  mcast" in text


def test_a_frame_that_waits_for_buffers_is_not_counted_as_dropped():
    # RNBC counts frames that found no free buffer and waited in the card for one; they are not
    # lost, so, as in Linux's e1000_update_stats, they do not go into rx_dropped.
    lines = []
    machine = Machine(console=lines.append, backend=COMPILED)

    async def scenario(world):
        await world.shell.script(UP)
        backend, adapter = world.backend, world.adapter()
        hw = adapter.hw
        # The driver slow to take frames: its interrupts masked while a burst arrives that is
        # larger than its receive ring.
        enabled = await hw.er32(reg.IMS)
        await hw.ew32(reg.IMC, 0xFFFFFFFF)
        burst = adapter.rx_ring.count + 8
        for seq in range(burst):
            backend.send(to_wire(echo_request(seq)))
        await backend.cycles(burst * 150)
        await world.shell.run("ip -s link show eth0")
        waited, dropped = adapter.rx_no_buffer_count, adapter.stats.rx_dropped
        await hw.ew32(reg.IMS, enabled)
        replies = lambda: [f for _, _, f in backend.wire_log                  # noqa: E731
                           if f.frame and f.frame[12:14] == b"\x08\x00" and f.frame[34] == 0]
        await world.kernel.wait_event_timeout(lambda: len(replies()) == burst, 4000)
        return waited, dropped, len(replies()) == burst, await hw.er32(reg.MPC)

    waited, dropped, answered, missed = machine.run(scenario)
    assert waited >= 1 and dropped == 0
    assert (answered, missed) == (True, 0)      # every frame that waited was answered


def test_insmod_and_rmmod_cycle_and_the_interface_works_each_time():
    # rmmod used to leave the old interrupt handler registered (it ate ICR, so the new
    # driver never saw an interrupt) and the stack kept the removed device's address and
    # routes ("File exists", then "Network is unreachable").
    lines = []
    machine = Machine(console=lines.append, backend=COMPILED)
    cycle = ["insmod e1000", "ip link set eth0 up",
             "ip addr add 10.0.2.15/255.255.255.0 dev eth0", "ping -c 1 10.0.2.2", "rmmod e1000"]

    async def scenario(world):
        statuses = []
        for _ in range(3):
            for line in cycle:
                statuses.append(await world.shell.run(line))
        handlers = world.kernel._handlers.get(world.devices[0].irq, [])
        return statuses, handlers, world.shell.stack.routes, world.shell.stack.addresses

    statuses, handlers, routes, addresses = machine.run(scenario)
    assert statuses == [0] * 15, "\n".join(lines)
    text = "\n".join(lines)
    assert text.count("1 packets transmitted, 1 packets received, 0% packet loss") == 3, text
    assert "File exists" not in text and "unreachable" not in text
    assert handlers == [] and routes == [] and addresses == {}


def test_rings_that_do_not_fit_are_refused_like_the_kernel_and_memory_comes_back():
    # Host memory is 1 MiB: 4096 descriptors do not fit at all, 192 fit for TX (with 4 KiB
    # buffers) but not for RX (the TX ring must then be given back), 128 fit, and do again after
    # down and up.
    lines = []
    machine = Machine(console=lines.append, backend=COMPILED)
    script = ["insmod e1000 ring=4096", "ip link set eth0 up", "rmmod e1000",
              "insmod e1000 ring=192", "ip link set eth0 up", "rmmod e1000",
              "insmod e1000 ring=128", "ip link set eth0 up", "ip link set eth0 down",
              "ip link set eth0 up", "ip addr add 10.0.2.15/255.255.255.0 dev eth0",
              "ping -c 1 10.0.2.2"]

    async def scenario(world):
        return [await world.shell.run(line) for line in script]

    statuses = machine.run(scenario)
    text = "\n".join(lines)
    assert statuses == [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], text
    assert text.count("ip: SIOCSIFFLAGS: Cannot allocate memory") == 2
    assert "eth0: Unable to allocate memory for the Tx descriptor ring" in text
    assert "eth0: Unable to allocate memory for the Rx descriptor ring" in text
    assert "1 packets transmitted, 1 packets received, 0% packet loss" in text


def test_a_burst_larger_than_the_ring_is_queued_and_every_reply_sent():
    # 400 echo requests at line rate to a guest with an 8-descriptor transmit ring: the
    # driver refuses replies while its ring is full (NETDEV_TX_BUSY) and the device's queue
    # keeps them until the ring has room; 393 of 400 used to be lost, counted nowhere.
    lines = []
    machine = Machine(console=lines.append, backend=COMPILED)

    async def scenario(world):
        await world.shell.script(["insmod e1000", "ip link set eth0 up",
                                  "ip addr add 10.0.2.15/24 dev eth0"])
        backend, kernel = world.backend, world.kernel
        # The gateway's MAC is learned first, as the ping's ARP would.
        for seq in range(400):
            backend.send(to_wire(echo_request(seq)))
        replies = lambda: [f for _, _, f in backend.wire_log
                           if f.frame and f.frame[12:14] == b"\x08\x00" and f.frame[34] == 0]
        await kernel.wait_event_timeout(lambda: len(replies()) == 400, 20_000)
        await world.shell.run("ip -s link show eth0")
        netdev = world.adapter().netdev
        return replies(), netdev.requeues, netdev.tx_dropped

    replies, requeues, dropped = machine.run(scenario)
    seqs = [struct.unpack("!H", f.frame[40:42])[0] for f in replies]
    assert seqs == list(range(400))
    assert requeues > 0 and dropped == 0


def test_ping_with_checksums_in_hardware_and_in_software():
    # The stack leaves the ICMP checksums to the device while tx-checksumming is on (a context
    # descriptor and a data descriptor per frame, as e1000_tx_csum writes them), and computes
    # them itself once ethtool turns it off. The gateway answers only echoes whose checksum is
    # right, and the frames on the wire are the same either way.
    def run(script):
        lines = []
        machine = Machine(console=lines.append, backend=COMPILED)

        async def scenario(world):
            await world.shell.script(UP + script)
            echoes = [f.frame for _, _, f in world.backend.wire_log
                      if f.frame and f.frame[12:14] == b"\x08\x00" and f.frame[34] == 8]
            return echoes, await world.adapter().hw.er32(reg.TDH), "\n".join(lines)
        return machine.run(scenario)

    on, tdh_on, text_on = run(["ethtool -k eth0", "ping -c 3 10.0.2.2"])
    off, tdh_off, text_off = run(["ethtool -K eth0 tx off", "ethtool -k eth0",
                                  "ping -c 3 10.0.2.2"])
    assert "3 packets transmitted, 3 packets received" in text_on
    assert "3 packets transmitted, 3 packets received" in text_off
    assert "tx-checksumming: on\n" in text_on and "tx-checksumming: off\n" in text_off
    assert "tcp-segmentation-offload: on\n" in text_on
    assert len(on) == 3 and on == off
    assert (tdh_on, tdh_off) == (1 + 2 * 3, 1 + 3)      # the ARP request, then the echoes


def test_ethtool_refuses_what_it_cannot_change():
    lines = []
    machine = Machine(console=lines.append, backend=COMPILED)

    async def scenario(world):
        shell = world.shell
        await shell.script(UP)
        return [await shell.run(line) for line in (
            "ethtool -K eth0 rx-vlan-filter off", "ethtool -K eth0 tx", "ethtool -K eth0 bogus on",
            "ethtool -k eth9", "ethtool -K eth0 rxvlan off tx on", "ethtool -S eth9")]

    assert machine.run(scenario) == [1, 1, 1, 1, 0, 1]
    text = "\n".join(lines)
    assert "Cannot change rx-vlan-filter\nCould not change any device features" in text
    assert "Cannot get device feature names: No such device (eth9)" in text
    assert "Cannot get device stats: No such device (eth9)" in text


async def ethtool_stats(shell):
    """What ``ethtool -S eth0`` prints, by name."""
    lines, out = [], shell.out
    shell.out = lines.append
    try:
        await shell.run("ethtool -S eth0")
    finally:
        shell.out = out
    shown = lines[lines.index("NIC statistics:") + 1:]
    return {name: int(value) for name, value in (line.strip().split(": ") for line in shown)}


def super_packet(payload, flags="PA"):
    """A TCP/IPv4 super-packet as a kernel hands it to a driver with TSO: CHECKSUM_PARTIAL,
    with the length of the whole in its IPv4 header; and the segments scapy makes of it."""
    head = (Ether(src="52:54:00:12:34:56", dst="52:55:0a:00:02:02")
            / IP(src="10.0.2.15", dst="10.0.2.2", id=1000)
            / TCP(sport=40000, dport=5001, seq=7, ack=1, flags=flags))
    frame = bytearray(bytes(head / payload))
    segments = []
    for k, at in enumerate(range(0, len(payload), 1448)):
        seg = head.copy()
        seg[IP].id += k
        seg[TCP].seq += at
        if at + 1448 < len(payload):
            seg[TCP].flags = int(seg[TCP].flags) & ~0x09
        segments.append(bytes(seg / payload[at:at + 1448]))
    frame[50:52] = bytes(2)
    return SkBuff(bytes(frame), csum_start=34, csum_offset=16, gso_size=1448), segments


def test_super_packets_go_out_as_the_same_segments_with_tso_on_and_off():
    # Segmented by the device (one context descriptor, then the super-packet in pieces of 4 KiB,
    # as e1000_tso and e1000_tx_map write them), by the stack into super-packets the ring takes
    # (a ring of 8 takes 24 KiB), and by the stack into segments with TSO off: the wire is the
    # same, each segment the one scapy builds.
    payload = bytes((i * 7 + i // 256) & 0xFF for i in range(30000))

    def run(script, ring):
        machine = Machine(console=lambda line: None, backend=COMPILED)

        async def scenario(world):
            await world.shell.script([f"insmod e1000 ring={ring}", *UP[1:], *script])
            adapter, kernel = world.adapter(), world.kernel
            skb, expected = super_packet(payload, flags="FPA")
            await adapter.netdev.dev_queue_xmit(skb)
            tcp = lambda: [received(f) for _, _, f in world.backend.wire_log
                           if f.frame and f.frame[12:14] == b"\x08\x00" and f.frame[23] == 6]
            await kernel.wait_event_timeout(lambda: len(tcp()) >= len(expected), 5000)
            ring_ = adapter.tx_ring
            await kernel.wait_event_timeout(lambda: ring_.next_to_clean == ring_.next_to_use,
                                            500)
            stats = await ethtool_stats(world.shell)
            return (tcp(), expected, adapter.stats.tx_packets, stats["tx_tcp_seg_good"],
                    await adapter.hw.er32(reg.TDH))
        return machine.run(scenario)

    # The contexts sent, as ethtool -S shows them (TSCTC).
    device, expected, packets, contexts, tdh = run([], 32)
    assert len(expected) == 21 and device == expected
    assert packets == 21 and contexts == 1
    assert tdh == 1 + 8                                 # a context and 8 pieces of 4 KiB
    small, _, _, contexts, _ = run([], 8)
    assert small == expected and contexts == 2          # 16 and 5 segments
    soft, _, packets, contexts, _ = run(["ethtool -K eth0 tso off"], 32)
    assert soft == expected and packets == 21 and contexts == 0


def test_received_checksums_checked_by_the_device_are_marked_and_wrong_ones_counted():
    # RXCSUM.TUOFL while rx-checksumming is on: a right TCP or UDP checksum marks the frame
    # CHECKSUM_UNNECESSARY; a wrong one is counted and the frame still goes up (it is not a
    # receive error). With the feature off, nothing is marked.
    from scapy.layers.inet import UDP

    def frame(l4, bad=False):
        b = bytearray(bytes(Ether(src="52:55:0a:00:02:02", dst="52:54:00:12:34:56")
                            / IP(src="10.0.2.2", dst="10.0.2.15") / l4 / (b"payload bytes" * 4)))
        if bad:
            b[-1] ^= 0xFF
        return bytes(b)
    frames = [frame(UDP(sport=1, dport=2)), frame(TCP(sport=3, dport=4)),
              frame(UDP(sport=5, dport=6), bad=True), frame(TCP(sport=7, dport=8), bad=True)]

    def run(script):
        machine = Machine(console=lambda line: None, backend=COMPILED)

        async def scenario(world):
            await world.shell.script(UP + script)
            adapter, kernel = world.adapter(), world.kernel
            seen, stack = [], adapter.netdev.rx_handler
            adapter.netdev.rx_handler = lambda dev, skb: (seen.append(skb), stack(dev, skb))
            for f in frames:
                world.backend.send(to_wire(f))
            await kernel.wait_event_timeout(lambda: len(seen) == len(frames), 2000)
            stats = await ethtool_stats(world.shell)
            assert (stats["rx_csum_offload_good"], stats["rx_csum_offload_errors"]) \
                == (adapter.hw_csum_good, adapter.hw_csum_err)
            return ([(s.data, s.csum_unnecessary) for s in seen], adapter.hw_csum_err,
                    adapter.stats.rx_errors, await adapter.hw.er32(reg.RXCSUM))
        return machine.run(scenario)

    seen, errors, rx_errors, rxcsum = run([])
    assert seen == list(zip(frames, [True, True, False, False]))
    assert (errors, rx_errors, rxcsum) == (2, 0, reg.RXCSUM.TUOFL.mask)
    seen, errors, rx_errors, rxcsum = run(["ethtool -K eth0 rx off"])
    assert seen == list(zip(frames, [False] * 4))
    assert (errors, rx_errors, rxcsum) == (0, 0, 0)


def test_jumbo_frames_with_the_mtu_both_ways():
    # ip link set eth0 mtu 9000 and 16110 (the 82540EM's largest frame, 16,128 bytes with the
    # FCS): 4 KiB receive buffers with BSEX and LPE, echoes of 9,014 and 16,124 bytes out in
    # 4 KiB pieces and back across several buffers; larger ones are refused.
    lines = []
    machine = Machine(console=lines.append, backend=COMPILED)
    script = ["ip link set eth0 mtu 9000", "ping -c 2 -s 8972 10.0.2.2",
              "ip link set eth0 mtu 16110", "ping -c 1 -s 16082 10.0.2.2",
              "ping -c 1 -s 16083 10.0.2.2", "ip link set eth0 mtu 16111",
              "ip link set eth0 mtu 67", "ip link show eth0"]

    async def scenario(world):
        await world.shell.script(UP)
        statuses = [await world.shell.run(line) for line in script]
        sizes = sorted({len(f.frame) for _, _, f in world.backend.wire_log if f.frame})
        adapter = world.adapter()
        return (statuses, sizes, await adapter.hw.er32(reg.RCTL), adapter.stats.rx_errors,
                await adapter.hw.er32(reg.ROC))

    statuses, sizes, rctl, rx_errors, oversize = machine.run(scenario)
    text = "\n".join(lines)
    assert statuses == [0, 0, 0, 0, 1, 1, 1, 0], text
    assert "2 packets transmitted, 2 packets received" in text
    assert "1 packets transmitted, 1 packets received" in text
    assert "ping: sendto: Message too long" in text
    assert "Error: mtu greater than device maximum." in text
    assert "Error: mtu less than device minimum." in text
    assert "mtu 16110 qdisc" in text
    # On the wire, with the FCS: the echoes and their replies.
    assert 9018 in sizes and 16128 in sizes and max(sizes) == 16128
    assert rctl & (reg.RCTL.LPE.mask | reg.RCTL.BSEX.mask | reg.RCTL.BSIZE.mask) == (
        reg.RCTL.LPE.mask | rx_buffer_bits(4096))
    assert (rx_errors, oversize) == (0, 0)
