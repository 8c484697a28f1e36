"""The guest's shell: the commands of the reference scenario, with busybox's output.

Commands: ``insmod e1000 [eeprom=eerd|microwire]``, ``rmmod e1000``,
``ip link set DEV up|down``, ``ip link [show [DEV]]``. Each prints what the real tool prints;
a bad command prints the tool's complaint and returns a non-zero status.

``ip link set DEV up`` returns once the link is up (or after ``link_wait_us`` of simulated
time), where a person at a real console would wait a moment before typing on: the device only
reports its link from an interrupt, which has to be taken before the next command makes sense.
"""

import shlex

from .e1000 import E1000Driver
from .e1000.hw import EEPROM_ACCESS
from .netdev import format_mac


__all__ = ["Shell"]

PROMPT = "/ # "


class Shell:
    def __init__(self, kernel, devices, *, out=print, link_wait_us=5_000):
        self.kernel = kernel
        self.devices = devices
        self.out = out
        self.link_wait_us = link_wait_us

    async def run(self, line):
        """Run one command line; return its exit status."""
        self.out(f"{PROMPT}{line}")
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
        """Run command lines in order; stop at the first failure and return its status."""
        for line in lines:
            status = await self.run(line)
            if status:
                return status
        return 0

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
            if key != "eeprom" or value not in EEPROM_ACCESS:
                self.out(f"insmod: can't insert '{args[0]}': unknown parameter '{arg}' "
                         f"(known: eeprom={'|'.join(EEPROM_ACCESS)})")
                return 1
            params["eeprom_access"] = value
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
        if args[:1] != ["link"]:
            self.out("Usage: ip link [show [DEV]] | ip link set DEV up|down")
            return 1
        args = args[1:]
        if not args or args[0] == "show":
            return self._ip_link_show(args[1:])
        if args[0] == "set" and len(args) == 3 and args[2] in ("up", "down"):
            return await self._ip_link_set(args[1], args[2] == "up")
        if args[0] == "set" and len(args) == 4 and args[1] == "dev" and args[3] in ("up", "down"):
            return await self._ip_link_set(args[2], args[3] == "up")
        self.out("Usage: ip link [show [DEV]] | ip link set DEV up|down")
        return 1

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
            await netdev.ops.ndo_open(netdev)
            await self.kernel.wait_event_timeout(lambda: netdev.carrier, self.link_wait_us)
        elif not up and netdev.up:
            await netdev.ops.ndo_stop(netdev)
        return 0

    def _ip_link_show(self, args):
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
            state = "UP" if netdev.up and netdev.carrier else "DOWN"
            self.out(f"{netdev.ifindex}: {netdev.name}: <{','.join(netdev.flags())}> "
                     f"mtu {netdev.mtu} qdisc pfifo_fast state {state} qlen 1000")
            self.out(f"    link/ether {format_mac(netdev.dev_addr)} brd ff:ff:ff:ff:ff:ff")
        return 0
