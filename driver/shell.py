"""The guest's shell: the commands of the reference scenario, with busybox's output.

Commands: ``insmod e1000 [eeprom=eerd|microwire] [ring=N]``, ``rmmod e1000``,
``ip link set DEV up|down``, ``ip link set DEV mtu MTU``, ``ip link [show [DEV]]``,
``ip link add link DEV name NAME type vlan id ID``, ``ip link del NAME``,
``ip addr add ADDR/MASK dev DEV``, ``ip addr``, ``ip route add default|NET via GW``, ``ip route``,
``ping [-c COUNT] [-s SIZE] [-i INTERVAL] [-W TIMEOUT] HOST``, ``ethtool -k DEV``,
``ethtool -K DEV FEATURE on|off ...``, ``ethtool -S DEV``, ``ethtool -a DEV``, ``help``. Each
prints what the real tool prints; a bad command prints the tool's complaint and returns a non-zero
status. ``completions`` offers the words that may come next, for a prompt's Tab key.

A signal (``kernel.signal_pending``, set by Ctrl-C at an interactive prompt) ends the command at
its next interruptible wait with status 130, as SIGINT ends a shell's child; ping prints its
statistics first, as busybox's does.

Busybox ping runs until interrupted and sends once a second; here a ping without ``-c`` sends
four (the reference scenario was interrupted after four), and the interval is simulated time,
10 us unless ``-i`` says otherwise, since a simulated second costs many minutes. A reply counts
if it comes within ``-W`` seconds of simulated time (1 ms).

``ip link set DEV up`` returns once the link is up (or after ``link_wait_us`` of simulated
time), where a person at a real console would wait a moment before typing on: the device only
reports its link from an interrupt, which has to be taken before the next command makes sense.
"""

import errno
import ipaddress
import os
import shlex
import struct

from .e1000 import E1000Driver
from .e1000.hw import EEPROM_ACCESS
from .kernel import Interrupted
from .net import MessageTooLong, NetStack, NetworkUnreachable
from .netdev import NETIF_F_HW_CSUM, NETIF_F_RXCSUM, format_mac
from .vlan import VlanDevice, register_vlan_device, unregister_vlan_device


__all__ = ["Shell"]

PROMPT = "/ # "

# The features ethtool lists, and the short names ``ethtool -K`` takes for them.
FEATURES = {NETIF_F_RXCSUM: "rx", NETIF_F_HW_CSUM: "tx", "scatter-gather": "sg",
            "tcp-segmentation-offload": "tso", "rx-vlan-offload": "rxvlan",
            "tx-vlan-offload": "txvlan", "rx-vlan-filter": "rx-vlan-filter"}


# What ``help`` prints: each command's forms.
SYNOPSIS = {
    "insmod": ["insmod e1000 [eeprom=eerd|microwire] [ring=N]"],
    "rmmod": ["rmmod e1000"],
    "ip": ["ip link [show [DEV]]", "ip -s link [show [DEV]]", "ip link set DEV up|down",
           "ip link set DEV mtu MTU", "ip link add link DEV name NAME type vlan id ID",
           "ip link del NAME", "ip addr [add ADDR/MASK dev DEV]",
           "ip route [add default|NET via GW]"],
    "ping": ["ping [-c COUNT] [-s SIZE] [-i INTERVAL] [-W TIMEOUT] HOST"],
    "ethtool": ["ethtool -k DEV", "ethtool -K DEV FEATURE on|off ...", "ethtool -S DEV",
                "ethtool -a DEV"],
    "help": ["help"],
    "exit": ["exit (or Ctrl-D; Ctrl-C stops the running command)"],
}

# Words ``completions`` offers after a command's words; DEV stands for the network devices.
_NEXT_WORDS = {
    (): sorted(SYNOPSIS),
    ("insmod",): ["e1000"],
    ("insmod", "e1000"): ["eeprom=eerd", "eeprom=microwire", "ring="],
    ("rmmod",): ["e1000"],
    ("ip",): ["link", "addr", "route", "-s"],
    ("ip", "-s"): ["link"],
    ("ip", "link"): ["show", "set", "add", "del"],
    ("ip", "link", "show"): ["DEV"],
    ("ip", "link", "set"): ["DEV"],
    ("ip", "link", "set", "DEV"): ["up", "down", "mtu"],
    ("ip", "link", "add"): ["link"],
    ("ip", "link", "add", "link"): ["DEV"],
    ("ip", "link", "del"): ["DEV"],
    ("ip", "addr"): ["add"],
    ("ip", "route"): ["add"],
    ("ip", "route", "add"): ["default"],
    ("ping",): ["-c", "-s", "-i", "-W"],
    ("ethtool",): ["-k", "-K", "-S", "-a"],
    ("ethtool", "-k"): ["DEV"], ("ethtool", "-S"): ["DEV"], ("ethtool", "-a"): ["DEV"],
    ("ethtool", "-K"): ["DEV"],
}


class Shell:
    def __init__(self, kernel, devices, *, out=print, link_wait_us=5_000):
        self.kernel = kernel
        self.devices = devices
        self._console = out
        self.link_wait_us = link_wait_us
        self.stack = NetStack(kernel)
        self._ping_id = 0x4D2
        # Each command run: {"command", "status", "output" (lines), "start_ns", "end_ns"}.
        self.results = []
        self._output = None

    def out(self, line):
        """Print a line of a command's output."""
        if self._output is not None:
            self._output.append(line)
        self._console(line)

    async def run(self, line, *, echo=True):
        """Run one command line; return its exit status."""
        if echo:
            self._console(f"{PROMPT}{line}")
        result = {"command": line, "status": None, "output": [],
                  "start_ns": self.kernel.platform.now_ns()}
        self.results.append(result)
        self._output = result["output"]
        try:
            result["status"] = await self._run(line)
        except Interrupted:
            # Ctrl-C: the command stops where it slept, as a shell's child does on SIGINT.
            result["status"] = 130
        finally:
            self.kernel.signal_pending = False
            self._output = None
            result["end_ns"] = self.kernel.platform.now_ns()
        return result["status"]

    async def _run(self, line):
        try:
            argv = shlex.split(line, comments=True)
        except ValueError as e:
            self.out(f"sh: syntax error: {e}")
            return 2
        if not argv:
            return 0
        command = getattr(self, f"cmd_{argv[0]}", None)
        if command is None:
            self.out(f"sh: {argv[0]}: not found")
            return 127
        return await command(argv[1:])

    async def script(self, lines):
        """Run command lines in order, as ``sh`` runs a script; return the last one's status."""
        status = 0
        for line in lines:
            status = await self.run(line)
        return status

    async def interactive(self, read_line):
        """Read command lines with ``read_line(prompt)`` (None or EOFError ends) and run them;
        the simulation stands still while it waits for a line."""
        status = 0
        while True:
            try:
                line = read_line(PROMPT)
            except EOFError:
                line = None
            if line is None or line.strip() in ("exit", "poweroff"):
                return status
            status = await self.run(line, echo=False)

    async def cmd_help(self, args):
        self.out("Commands (busybox's and iproute2's output; Tab completes, Up recalls):")
        for forms in SYNOPSIS.values():
            for form in forms:
                self.out(f"  {form}")
        return 0

    def completions(self, before, prefix):
        """Words that may follow the words ``before`` and begin with ``prefix``: the commands,
        their subcommands and options, and the network devices where a command takes one."""
        key = []
        for word in before:
            key.append("DEV" if word in self.kernel.netdevs else word)
        key = tuple(key)
        if key[:3] == ("ethtool", "-K", "DEV"):
            words = [*FEATURES.values(), "on", "off"]
        else:
            words = _NEXT_WORDS.get(key, [])
        found = []
        for word in words:
            for choice in (self.kernel.netdevs if word == "DEV" else [word]):
                if choice.startswith(prefix) and choice not in found:
                    found.append(choice)
        return found

    # Modules.

    async def cmd_insmod(self, args):
        if not args:
            self.out("insmod: usage: insmod MODULE [PARAM=VALUE]...")
            return 1
        name, params = args[0].removesuffix(".ko"), {}
        if name != "e1000":
            self.out(f"insmod: can't insert '{args[0]}': No such file or directory")
            return 1
        if name in self.kernel.modules:
            self.out(f"insmod: can't insert '{args[0]}': File exists")
            return 1
        for arg in args[1:]:
            key, _, value = arg.partition("=")
            if key == "eeprom" and value in EEPROM_ACCESS:
                params["eeprom_access"] = value
            elif key == "ring" and value.isdigit() and 8 <= int(value) <= 4096 \
                    and int(value) % 8 == 0:
                params["ring_size"] = int(value)
            else:
                self.out(f"insmod: can't insert '{args[0]}': unknown parameter '{arg}' "
                         f"(known: eeprom={'|'.join(EEPROM_ACCESS)}, ring=8..4096 in steps of 8)")
                return 1
        driver = E1000Driver(self.kernel, **params)
        await driver.init(self.devices)
        self.kernel.modules[name] = driver
        return 0

    async def cmd_rmmod(self, args):
        if len(args) != 1:
            self.out("rmmod: usage: rmmod MODULE")
            return 1
        driver = self.kernel.modules.pop(args[0].removesuffix(".ko"), None)
        if driver is None:
            self.out(f"rmmod: can't unload module '{args[0]}': No such file or directory")
            return 1
        await driver.exit()
        return 0

    # ip

    async def cmd_ip(self, args):
        statistics = args[:1] == ["-s"]
        if statistics:
            args = args[1:]
        if args[:1] in (["addr"], ["address"], ["a"]):
            return self._ip_addr(args[1:])
        if args[:1] in (["route"], ["r"]):
            return self._ip_route(args[1:])
        if args[:1] != ["link"]:
            self.out("Usage: ip [-s] [link | addr | route] ...")
            return 1
        args = args[1:]
        if not args or args[0] == "show":
            return await self._ip_link_show(args[1:], statistics)
        if args[0] == "set" and len(args) == 3 and args[2] in ("up", "down"):
            return await self._ip_link_set(args[1], args[2] == "up")
        if args[0] == "set" and len(args) == 4 and args[1] == "dev" and args[3] in ("up", "down"):
            return await self._ip_link_set(args[2], args[3] == "up")
        if args[0] == "set" and args[1:2] == ["dev"]:
            args = ["set", *args[2:]]
        if args[0] == "set" and len(args) == 4 and args[2] == "mtu":
            return await self._ip_link_set_mtu(args[1], args[3])
        if args[0] == "add":
            return await self._ip_link_add(args[1:])
        if args[0] in ("delete", "del"):
            return await self._ip_link_del(args[1:])
        self.out("Usage: ip link [show [DEV]] | ip link set DEV up|down|mtu MTU\n"
                 "       ip link add link DEV name NAME type vlan id ID | ip link del NAME")
        return 1

    async def _ip_link_add(self, args):
        options = dict(zip(args[::2], args[1::2]))
        if len(args) % 2 or set(options) != {"link", "name", "type", "id"}:
            self.out("Usage: ip link add link DEV name NAME type vlan id ID")
            return 1
        if options["type"] != "vlan":
            self.out(f'Error: Unknown device type "{options["type"]}".')
            return 1
        real_dev = self.kernel.netdevs.get(options["link"])
        if real_dev is None:
            self.out(f'Cannot find device "{options["link"]}"')
            return 1
        try:
            vid = int(options["id"])
        except ValueError:
            self.out(f'Error: argument "{options["id"]}" is wrong: "id" is invalid')
            return 1
        if isinstance(real_dev, VlanDevice):
            self.out("Error: VLANs on VLANs are not supported here.")
            return 1
        try:
            await register_vlan_device(self.kernel, real_dev, options["name"], vid)
        except OSError as error:
            self.out(f"Error: {error.strerror}" if error.errno == errno.ERANGE
                     else f"RTNETLINK answers: {error.strerror}")
            return 1
        return 0

    async def _ip_link_del(self, args):
        if args[:1] == ["dev"]:
            args = args[1:]
        if len(args) != 1:
            self.out("Usage: ip link del NAME")
            return 1
        netdev = self.kernel.netdevs.get(args[0])
        if netdev is None:
            self.out(f'Cannot find device "{args[0]}"')
            return 1
        if not isinstance(netdev, VlanDevice):
            self.out("RTNETLINK answers: Operation not supported")
            return 1
        await unregister_vlan_device(self.kernel, netdev)
        return 0

    # ethtool

    async def cmd_ethtool(self, args):
        usage = ("Usage: ethtool -k DEV | ethtool -K DEV FEATURE on|off ... | ethtool -S DEV | "
                 "ethtool -a DEV")
        if len(args) < 2 or args[0] not in ("-k", "-K", "-S", "-a"):
            self.out(usage)
            return 1
        netdev = self.kernel.netdevs.get(args[1])
        if netdev is None:
            what = "stats" if args[0] == "-S" else "feature names"
            self.out(f"Cannot get device {what}: No such device ({args[1]})")
            return 1
        if args[0] == "-a":
            if len(args) != 2:
                self.out(usage)
                return 1
            pause = await netdev.ops.get_pauseparam(netdev)
            if pause is None:
                self.out("Cannot get device pause settings: Operation not supported")
                return 1
            autoneg, rx, tx = pause
            self.out(f"Pause parameters for {netdev.name}:")
            for name, on in (("Autonegotiate:\t", autoneg), ("RX:\t\t", rx), ("TX:\t\t", tx)):
                self.out(f"{name}{'on' if on else 'off'}")
            return 0
        if args[0] == "-S":
            if len(args) != 2:
                self.out(usage)
                return 1
            stats = await netdev.ops.get_ethtool_stats(netdev)
            if not stats:
                self.out("no stats available")
                return 1
            self.out("NIC statistics:")
            for name, value in stats:
                self.out(f"     {name}: {value}")
            return 0
        if args[0] == "-k":
            if len(args) != 2:
                self.out(usage)
                return 1
            self.out(f"Features for {netdev.name}:")
            for feature in FEATURES:
                state = "on" if feature in netdev.features else "off"
                fixed = "" if feature in netdev.hw_features else " [fixed]"
                self.out(f"{feature}: {state}{fixed}")
            return 0
        changes = args[2:]
        if not changes or len(changes) % 2:
            self.out(usage)
            return 1
        by_name = {**{f: f for f in FEATURES}, **{short: f for f, short in FEATURES.items()}}
        wanted = {}
        for name, value in zip(changes[::2], changes[1::2]):
            if name not in by_name or value not in ("on", "off"):
                self.out(f"ethtool: bad feature setting '{name} {value}'")
                return 1
            wanted[by_name[name]] = value == "on"
        fixed = [f for f, on in wanted.items()
                 if f not in netdev.hw_features and on != (f in netdev.features)]
        for feature in fixed:
            self.out(f"Cannot change {feature}")
        features = set(netdev.features)
        for feature, on in wanted.items():
            if feature in netdev.hw_features:
                (features.add if on else features.discard)(feature)
        if features != netdev.features:
            await netdev.ops.ndo_set_features(netdev, features)
            netdev.features = features
        if fixed:
            self.out("Could not change any device features" if len(fixed) == len(wanted)
                     else "Could not change some device features")
            return 1
        return 0

    def _netdev(self, name):
        netdev = self.kernel.netdevs.get(name)
        if netdev is None:
            self.out(f"ip: can't find device '{name}'")
        return netdev

    async def _ip_link_set(self, name, up):
        netdev = self._netdev(name)
        if netdev is None:
            return 1
        if up and not netdev.up:
            error = await netdev.ops.ndo_open(netdev)
            if error:
                self.out(f"ip: SIOCSIFFLAGS: {os.strerror(-error)}")
                return 1
            await self.kernel.wait_event_interruptible_timeout(lambda: netdev.carrier, self.link_wait_us)
        elif not up and netdev.up:
            await netdev.ops.ndo_stop(netdev)
        return 0

    async def _ip_link_set_mtu(self, name, value):
        netdev = self._netdev(name)
        if netdev is None:
            return 1
        try:
            mtu = int(value)
        except ValueError:
            self.out(f'Error: argument "{value}" is wrong: "mtu" value is invalid')
            return 1
        if mtu < netdev.min_mtu:
            self.out("Error: mtu less than device minimum.")
            return 1
        if mtu > netdev.max_mtu:
            self.out("Error: mtu greater than device maximum.")
            return 1
        error = await netdev.ops.ndo_change_mtu(netdev, mtu)
        if error:
            self.out(f"ip: SIOCSIFMTU: {os.strerror(-error)}")
            return 1
        if netdev.up:
            # The driver took the interface down and up for it: wait for the link again.
            await self.kernel.wait_event_interruptible_timeout(lambda: netdev.carrier, self.link_wait_us)
        return 0

    async def _ip_link_show(self, args, statistics=False):
        netdevs = list(self.kernel.netdevs.values())
        if args:
            netdev = self._netdev(args[-1])
            if netdev is None:
                return 1
            netdevs = [netdev]
        if not args:
            self.out("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000")
            self.out("    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00")
        for netdev in netdevs:
            self._link_lines(netdev)
            if isinstance(netdev, VlanDevice):
                self.out(f"    {netdev.kind()}")
            if statistics:
                st = await netdev.ops.ndo_get_stats64(netdev)
                self.out("    RX: bytes  packets  errors  dropped missed  mcast")
                self.out(f"    {st.rx_bytes:<10d} {st.rx_packets:<8d} {st.rx_errors:<7d} "
                         f"{st.rx_dropped:<7d} {st.rx_missed_errors:<7d} {st.multicast}")
                self.out("    TX: bytes  packets  errors  dropped carrier collsns")
                self.out(f"    {st.tx_bytes:<10d} {st.tx_packets:<8d} {st.tx_errors:<7d} "
                         f"{st.tx_dropped + netdev.tx_dropped:<7d} {0:<7d} 0")
        return 0

    def _link_lines(self, netdev):
        """A device's first two lines in ``ip link`` and ``ip addr``."""
        state = "UP" if netdev.up and netdev.carrier else "DOWN"
        if isinstance(netdev, VlanDevice):
            name, qdisc = f"{netdev.name}@{netdev.real_dev.name}", "noqueue"
        else:
            name, qdisc = netdev.name, "pfifo_fast"
        self.out(f"{netdev.ifindex}: {name}: <{','.join(netdev.flags())}> "
                 f"mtu {netdev.mtu} qdisc {qdisc} state {state} qlen {netdev.tx_queue_len}")
        self.out(f"    link/ether {format_mac(netdev.dev_addr)} brd ff:ff:ff:ff:ff:ff")

    def _ip_addr(self, args):
        if not args or args[0] == "show":
            for netdev in self.kernel.netdevs.values():
                self._link_lines(netdev)
                for interface in self.stack.addresses.get(netdev.name, []):
                    self.out(f"    inet {interface.with_prefixlen} brd "
                             f"{interface.network.broadcast_address} scope global {netdev.name}")
            return 0
        if len(args) == 4 and args[0] == "add" and args[2] == "dev":
            try:
                interface = ipaddress.IPv4Interface(args[1])
            except ValueError:
                self.out(f"ip: invalid address '{args[1]}'")
                return 1
            netdev = self._netdev(args[3])
            if netdev is None:
                return 1
            if interface in self.stack.addresses.get(netdev.name, []):
                self.out("ip: RTNETLINK answers: File exists")
                return 2
            self.stack.add_address(netdev, interface)
            return 0
        self.out("Usage: ip addr add ADDRESS/MASK dev DEV | ip addr [show]")
        return 1

    def _ip_route(self, args):
        if not args or args[0] == "show":
            for route in self.stack.routes:
                self.out(str(route))
            return 0
        if len(args) == 4 and args[0] == "add" and args[2] == "via":
            try:
                network = ipaddress.IPv4Network("0.0.0.0/0" if args[1] == "default" else args[1])
                gateway = ipaddress.IPv4Address(args[3])
            except ValueError as e:
                self.out(f"ip: {e}")
                return 1
            try:
                self.stack.add_route(network, gateway)
            except NetworkUnreachable:
                self.out("ip: RTNETLINK answers: Network is unreachable")
                return 2
            return 0
        self.out("Usage: ip route add default|NETWORK via GATEWAY | ip route [show]")
        return 1

    async def cmd_ping(self, args):
        count, size, interval, timeout = 4, 56, 10e-6, 1e-3
        usage = "Usage: ping [-c COUNT] [-s SIZE] [-i INTERVAL] [-W TIMEOUT] HOST"
        # What each option takes: a parser and the values allowed, as busybox checks them.
        options = {"-c": (int, lambda v: v >= 1, "a count of at least 1 (this ping cannot "
                                                  "run until interrupted)"),
                   "-s": (int, lambda v: 0 <= v <= 65507, "a size from 0 to 65507"),
                   "-i": (float, lambda v: v >= 0, "an interval of 0 seconds or more"),
                   "-W": (float, lambda v: v > 0, "a time-out above 0 seconds")}
        values = {}
        host = None
        i = 0
        while i < len(args):
            option = args[i]
            if option in options:
                if i + 1 == len(args):
                    self.out(f"ping: option requires an argument -- '{option[1]}'")
                    self.out(usage)
                    return 1
                kind, allowed, wanted = options[option]
                try:
                    value = kind(args[i + 1])
                except ValueError:
                    value = None
                if value is None or not allowed(value):
                    self.out(f"ping: invalid number '{args[i + 1]}' for {option}: "
                             f"it takes {wanted}")
                    return 1
                values[option] = value
                i += 2
            elif option.startswith("-") and option != "-":
                self.out(f"ping: unrecognized option '{option}'")
                self.out(usage)
                return 1
            elif host is None:
                host, i = option, i + 1
            else:
                self.out(usage)
                return 1
        if host is None:
            self.out(usage)
            return 1
        try:
            destination = ipaddress.IPv4Address(host)
        except ipaddress.AddressValueError:
            # No resolver in this guest: names are not looked up, as with no DNS configured.
            self.out(f"ping: bad address '{host}'")
            return 1
        count = values.get("-c", count)
        size = values.get("-s", size)
        interval = values.get("-i", interval)
        timeout = values.get("-W", timeout)

        self.out(f"PING {destination} ({destination}): {size} data bytes")
        kernel, platform = self.kernel, self.kernel.platform
        self._ping_id = (self._ping_id + 1) & 0xFFFF
        ident = self._ping_id
        replies = {}

        def on_reply(source, ttl, icmp):
            _, _, _, rid, seq = struct.unpack("!BBHHH", icmp[:8])
            if rid == ident and source == destination and seq not in replies:
                replies[seq] = (ttl, platform.now_ns(), len(icmp))

        self.stack.echo_listeners.append(on_reply)
        sent, times = 0, []
        try:
            for seq in self._until_interrupted(range(count)):
                payload = bytes((seq + i) & 0xFF for i in range(size))
                echo = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
                start = platform.now_ns()
                try:
                    await self.stack.send_ip(destination, 1, echo, csum_at=2)
                except (NetworkUnreachable, MessageTooLong) as e:
                    self.out(f"ping: sendto: {e.strerror}")
                    return 1
                sent += 1
                deadline = start + timeout * 1e9
                while seq not in replies and platform.now_ns() < deadline:
                    left_us = (deadline - platform.now_ns()) / 1e3
                    await kernel.wait_event_interruptible_timeout(lambda: seq in replies,
                                                                  min(100.0, left_us))
                    await self.stack.retry_arp(100_000)
                if seq in replies:
                    ttl, when, length = replies[seq]
                    ms = (when - start) / 1e6
                    times.append(ms)
                    self.out(f"{length} bytes from {destination}: seq={seq} ttl={ttl} "
                             f"time={ms:.3f} ms")
                if seq + 1 < count and interval:
                    await kernel.wait_event_interruptible_timeout(lambda: False, interval * 1e6)
        except Interrupted:
            pass                # Ctrl-C: the statistics so far, as busybox prints them
        finally:
            self.stack.echo_listeners.remove(on_reply)
        received = len(times)
        self.out("")
        self.out(f"--- {destination} ping statistics ---")
        loss = (sent - received) * 100 // sent if sent else 0
        self.out(f"{sent} packets transmitted, {received} packets received, {loss}% packet loss")
        if times:
            self.out(f"round-trip min/avg/max = {min(times):.3f}/{sum(times) / len(times):.3f}/"
                     f"{max(times):.3f} ms")
        return 0 if received else 1

    def _until_interrupted(self, items):
        """``items`` until Ctrl-C; the wait it came in is ended by ``Interrupted``."""
        for item in items:
            if self.kernel.signal_pending:
                return
            yield item
