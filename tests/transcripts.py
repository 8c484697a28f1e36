"""What the guest prints while the driver comes up, as patterns (time stamps vary)."""

STAMP = r"\[\s+\d+\.\d{6}\] "

BRING_UP = ["insmod e1000", "ip link set eth0 up", "ip link show eth0"]

PROBE = [
    r"/ # insmod e1000",
    STAMP + r"e1000: Intel\(R\) PRO/1000 Network Driver",
    STAMP + r"e1000: Copyright \(c\) 1999-2006 Intel Corporation\.",
    STAMP + r"e1000 0000:00:03\.0: PHY 0x01410c20 \(M88E1011\) at address 1, autonegotiation restarted",
    STAMP + r"e1000 0000:00:03\.0 eth0: \(PCI:33MHz:32-bit\) 52:54:00:12:34:56",
    STAMP + r"e1000 0000:00:03\.0 eth0: Intel\(R\) PRO/1000 Network Connection",
    r"/ # ip link set eth0 up",
    STAMP + r"e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX",
]
