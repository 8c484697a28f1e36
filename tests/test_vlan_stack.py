"""VLANs end to end with the Python stack: ``ip link add ... type vlan``, the driver's filter
table and tag offloads, and the gateway on VLAN 5."""

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Dot1Q, Ether

from hw.regmap import reg
from sim.ethernet import received, to_wire
from sim.machine import Machine

from harness import COMPILED

UP = ["insmod e1000", "ip link set eth0 up", "ip addr add 10.0.2.15/24 dev eth0"]
VLAN5 = ["ip link add link eth0 name eth0.5 type vlan id 5", "ip link set eth0.5 up",
         "ip addr add 10.0.5.15/24 dev eth0.5"]


def guest_frames(backend):
    """What the NIC sent, without FCS."""
    return [received(f) for way, _, f in backend.wire_log if way == "tx" and received(f)]


def test_ping_on_a_vlan_with_tags_in_hardware_and_in_software():
    lines = []
    machine = Machine(console=lines.append, backend=COMPILED)

    async def scenario(world):
        shell, backend = world.shell, world.backend
        await shell.script(UP + VLAN5)
        adapter = world.adapter()
        hw = adapter.hw
        registers = (await hw.er32(reg.CTRL) & reg.CTRL.VME.mask,
                     await hw.er32(reg.RCTL) & reg.RCTL.VFE.mask, await hw.er32(reg.VFTA, 0))
        results = [await shell.run("ping -c 2 10.0.5.2"), await shell.run("ping -c 1 10.0.2.2")]
        sent = len(guest_frames(backend))
        # Tags in software both ways: the stack puts them in and takes them out.
        results.append(await shell.run("ethtool -K eth0 rxvlan off"))
        vme_off = await hw.er32(reg.CTRL) & reg.CTRL.VME.mask
        results.append(await shell.run("ping -c 2 10.0.5.2"))
        software = guest_frames(backend)[sent:]
        results.append(await shell.run("ethtool -k eth0"))
        results.append(await shell.run("ip link show eth0.5"))
        results.append(await shell.run("ip link del eth0.5"))
        after = (await hw.er32(reg.RCTL) & reg.RCTL.VFE.mask, await hw.er32(reg.VFTA, 0))
        return registers, results, vme_off, software, after, guest_frames(backend)[:sent]

    registers, results, vme_off, software, after, hardware = machine.run(scenario)
    assert results == [0] * 7
    text = "\n".join(lines)
    assert registers == (reg.CTRL.VME.mask, reg.RCTL.VFE.mask, 1 << 5)
    assert "2 packets transmitted, 2 packets received, 0% packet loss" in text
    assert "1 packets transmitted, 1 packets received, 0% packet loss" in text
    assert vme_off == 0
    assert "rx-vlan-offload: off" in text and "tx-vlan-offload: off [fixed]" in text
    assert "eth0.5@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP>" in text
    assert "vlan protocol 802.1Q id 5" in text
    assert after == (0, 0)
    # What the guest sent to 10.0.5.2 went out tagged for VLAN 5, whoever put the tag in.
    for frames in (hardware, software):
        to_vlan = [f for f in frames if Dot1Q in Ether(f)]
        assert to_vlan and all(Ether(f)[Dot1Q].vlan == 5 for f in to_vlan)
        pings = [Ether(f) for f in to_vlan if ICMP in Ether(f)]
        assert pings and all(p[IP].dst == "10.0.5.2" for p in pings)
    # Nothing but the ping to 10.0.2.2 went out untagged after the VLAN was made.
    untagged = [Ether(f) for f in hardware if Dot1Q not in Ether(f) and ICMP in Ether(f)]
    assert [p[IP].dst for p in untagged] == ["10.0.2.2"]


def test_a_vlan_without_a_device_is_filtered_out_in_hardware():
    machine = Machine(console=lambda line: None, backend=COMPILED)

    def request(vid, seq):
        return bytes(Ether(src="52:55:0a:00:02:02", dst="52:54:00:12:34:56") / Dot1Q(vlan=vid)
                     / IP(src=f"10.0.{vid}.2", dst=f"10.0.{vid}.15") / ICMP(id=3, seq=seq))

    async def scenario(world):
        shell, backend = world.shell, world.backend
        await shell.script(UP + VLAN5)
        adapter = world.adapter()
        await shell.run("ping -c 1 10.0.5.2")           # the gateway learns the guest
        packets = adapter.stats.rx_packets
        before = len(guest_frames(backend))
        backend.send(to_wire(request(6, 1)))
        backend.send(to_wire(request(5, 2)))
        await world.kernel.wait_event_timeout(lambda: len(guest_frames(backend)) > before, 500)
        await world.kernel.udelay(50)
        replies = [Ether(f) for f in guest_frames(backend)[before:]]
        return replies, adapter.stats.rx_packets - packets, adapter.netdev.rx_dropped

    replies, received_good, dropped = machine.run(scenario)
    # Only VLAN 5's request came into the driver (the stack dropped nothing for want of a
    # device), and only it was answered, on VLAN 5.
    assert received_good == 1 and dropped == 0
    assert [(r[Dot1Q].vlan, r[ICMP].type, r[ICMP].seq) for r in replies] == [(5, 0, 2)]


def test_vlan_commands_refuse_what_they_cannot_do():
    lines = []
    machine = Machine(console=lines.append, backend=COMPILED)
    commands = [
        ("insmod e1000", 0, None),
        ("ip link add link eth0 name eth0.5 type vlan id 5", 0, None),
        ("ip link set eth0.5 up", 1, "ip: SIOCSIFFLAGS: Network is down"),
        ("ip link add link eth0 name eth0.6 type vlan id 5", 1, "RTNETLINK answers: File exists"),
        ("ip link add link eth0 name eth0.5 type vlan id 6", 1, "RTNETLINK answers: File exists"),
        ("ip link add link eth0 name x type vlan id 4095", 1, "Error: 8021q: Invalid VLAN id."),
        ("ip link add link eth0 name x type vlan id five", 1,
         'Error: argument "five" is wrong: "id" is invalid'),
        ("ip link add link eth9 name x type vlan id 7", 1, 'Cannot find device "eth9"'),
        ("ip link add link eth0 name x type bridge id 7", 1, 'Error: Unknown device type "bridge".'),
        ("ip link del eth0", 1, "RTNETLINK answers: Operation not supported"),
        ("ip link del eth0.5", 0, None),
        ("ip link del eth0.5", 1, 'Cannot find device "eth0.5"'),
    ]

    async def scenario(world):
        out = []
        for command, _, _ in commands:
            before = len(lines)
            out.append((await world.shell.run(command), lines[before + 1:]))
        return out

    for (command, status, message), (got, printed) in zip(commands, machine.run(scenario)):
        assert got == status, command
        if message is not None:
            assert printed == [message], command
