"""The 82540EM register map, declared once.

Reference: Intel 8254x Family of Gigabit Ethernet Controllers Software Developer's Manual
(SDM), section 13 "Register Descriptions"; table 13-2 lists the offsets.

This module is plain Python on purpose: the register file in ``hw/`` elaborates its storage
and access semantics from it, the driver in ``driver/`` takes offsets and field masks from it,
and ``python -m hw.regmap`` prints the register document (docs/registers.md).
"""

import enum
from dataclasses import dataclass


__all__ = ["Access", "Field", "Register", "REGISTERS", "BY_NAME", "STATS", "reg", "BAR0_SIZE",
           "BAR1_SIZE", "register_at", "RX_BUFFER_SIZES", "rx_buffer_bits"]


BAR0_SIZE = 128 * 1024   # memory-mapped register space
BAR1_SIZE = 0x40         # I/O window: IOADDR at +0, IODATA at +4


class Access(enum.Enum):
    """How a register answers reads and writes."""
    RW  = "read/write"
    RO  = "read-only"
    RC  = "read-only, clear on read"
    RCW1C = "clear on read; writing 1 clears"          # ICR
    W1C = "read/write, writing 1 clears"               # WUS
    WS  = "write 1 sets bits; reads the value"         # IMS
    WSO = "write 1 sets bits; write-only"              # ICS
    WCO = "write 1 clears bits; write-only"            # IMC
    CNT = "statistics counter: read-only, clear on read, saturating"
    CNTL = "low half of a 64-bit statistics counter: read-only"
    CNTH = "high half of a 64-bit statistics counter: reading it clears both halves"


@dataclass(frozen=True)
class Field:
    name: str
    lsb: int
    width: int = 1
    doc: str = ""
    self_clearing: bool = False
    values: tuple = ()      # (name, code) pairs: ``reg.MDIC.OP.READ`` is the read opcode

    def __getattr__(self, name):
        for value_name, code in self.__dict__.get("values", ()):
            if value_name == name:
                return code
        raise AttributeError(f"field {self.__dict__.get('name')} has no value {name}")

    @property
    def mask(self):
        return ((1 << self.width) - 1) << self.lsb

    def get(self, value):
        return (value >> self.lsb) & ((1 << self.width) - 1)

    def put(self, value):
        assert 0 <= value < (1 << self.width), f"{self.name}: {value:#x} does not fit"
        return value << self.lsb


@dataclass(frozen=True)
class Register:
    name: str
    offset: int
    access: Access
    reset: int = 0
    doc: str = ""
    fields: tuple = ()
    count: int = 1          # > 1 for register arrays (MTA, RAL/RAH, VFTA)
    stride: int = 4
    mask: int = 0xFFFFFFFF  # bits that hold what software writes; the others read as reset

    def __post_init__(self):
        assert self.offset % 4 == 0 and self.offset + self.stride * (self.count - 1) < BAR0_SIZE

    @property
    def index(self):
        """Word index of the (first) register in BAR0."""
        return self.offset >> 2

    def at(self, n):
        """Byte offset of element ``n`` of an array register."""
        if not 0 <= n < self.count:
            raise IndexError(f"{self.name}[{n}] is out of range (0..{self.count - 1})")
        return self.offset + n * self.stride

    def __getattr__(self, name):
        # Field access by name, e.g. ``reg.CTRL.RST.mask``.
        for f in self.__dict__.get("fields", ()):
            if f.name == name:
                return f
        raise AttributeError(f"register {self.__dict__.get('name')} has no field {name}")

    def value(self, **fields):
        """A value of this register made of its fields: ``reg.TCTL.value(EN=1, PSP=1, CT=0x10)``."""
        return sum(getattr(self, name).put(value) for name, value in fields.items())

    @property
    def layout(self):
        """The register's fields as an Amaranth layout, each named in lower case (RCTL's BSIZE
        is ``bsize``); bits that are no field's are left out."""
        from amaranth.hdl import unsigned
        from amaranth.lib import data
        return data.FlexibleLayout(32, {f.name.lower(): data.Field(unsigned(f.width), f.lsb)
                                        for f in self.fields})

    def view(self, value):
        """``value`` (32 bits: the register, or what is written to it) seen through its fields:
        ``reg.RCTL.view(rctl).bsize``."""
        from amaranth.lib import data
        return data.View(self.layout, value)

    @property
    def owner(self):
        """The block that implements the register (its name in ``hw.core.E1000``): the one
        whose behaviour it has, or the register file for storage."""
        if self.access in (Access.CNT, Access.CNTL, Access.CNTH):
            return "stats"
        return _OWNERS.get(self.name, "regfile")

    @property
    def self_clearing_mask(self):
        return sum(f.mask for f in self.fields if f.self_clearing)


F = Field
R = Register
A = Access

# Interrupt causes share one layout in ICR, ICS, IMS and IMC (SDM 13.4.17).
_CAUSES = (
    F("TXDW", 0, doc="transmit descriptor written back"),
    F("TXQE", 1, doc="transmit queue empty"),
    F("LSC", 2, doc="link status change"),
    F("RXSEQ", 3, doc="receive sequence error"),
    F("RXDMT0", 4, doc="receive descriptor minimum threshold reached"),
    F("RXO", 6, doc="receiver overrun"),
    F("RXT0", 7, doc="receiver timer interrupt"),
    F("MDAC", 9, doc="MDI/O access complete"),
    F("RXCFG", 10, doc="receiving /C/ ordered sets"),
    F("PHYINT", 12, doc="PHY interrupt"),
    F("GPI_SDP6", 13), F("GPI_SDP7", 14),
    F("TXD_LOW", 15, doc="transmit descriptor low threshold hit"),
    F("SRPD", 16, doc="small receive packet detected"),
)
CAUSE_MASK = sum(f.mask for f in _CAUSES)


def _ring(prefix, base, doc):
    return (
        R(f"{prefix}BAL", base + 0x00, A.RW, doc=f"{doc} descriptor ring base, low 32 bits (bits 3:0 read 0)",
          mask=0xFFFFFFF0),
        R(f"{prefix}BAH", base + 0x04, A.RW, doc=f"{doc} descriptor ring base, high 32 bits"),
        R(f"{prefix}LEN", base + 0x08, A.RW, doc=f"{doc} descriptor ring length in bytes, a multiple of 128",
          fields=(F("LEN", 7, 13, "length / 128"),), mask=0x000FFF80),
        R(f"{prefix}H", base + 0x10, A.RW, doc=f"{doc} descriptor head (advanced by hardware)",
          fields=(F("H", 0, 16),), mask=0xFFFF),
        R(f"{prefix}T", base + 0x18, A.RW, doc=f"{doc} descriptor tail (advanced by software)",
          fields=(F("T", 0, 16),), mask=0xFFFF),
    )


# Statistics counters (SDM 13.7), with the rule each follows here; see hw/stats.py. Receive
# frames are counted whatever their fate once the receiver is on; "passed the filter" means an
# address match (or promiscuous mode). Counters marked "not counted" stay zero: the event cannot
# happen in this model (full duplex, no collisions). The PAUSE frames the MAC makes count only
# in XONTXC and XOFFTXC.
_STATS = (
    ("CRCERRS", 0x4000, "bad FCS, 64 bytes or more, passed the filter"),
    ("ALGNERRC", 0x4004, "alignment errors (not counted: GMII has none)"),
    ("SYMERRS", 0x4008, "symbol errors (not counted)"),
    ("RXERRC", 0x400C, "frames with RX_ER during reception"),
    ("MPC", 0x4010, "missed: no room in the receive FIFO, or dropped as the receiver was "
                    "turned off"),
    ("SCC", 0x4014, "single collisions (not counted: full duplex)"),
    ("ECOL", 0x4018, "excessive collisions (not counted)"),
    ("MCC", 0x401C, "multiple collisions (not counted)"),
    ("LATECOL", 0x4020, "late collisions (not counted)"),
    ("COLC", 0x4028, "collisions (not counted)"),
    ("DC", 0x4030, "defer count (not counted)"),
    ("TNCRS", 0x4034, "transmit with no CRS (not counted)"),
    ("SEC", 0x4038, "sequence errors (not counted)"),
    ("CEXTERR", 0x403C, "carrier extension errors (not counted)"),
    ("RLEC", 0x4040, "receive length errors (not counted: see RUC, ROC)"),
    ("XONRXC", 0x4048, "PAUSE frames of time 0 received, good, to the flow control or a "
                       "receive address"),
    ("XONTXC", 0x404C, "PAUSE frames of time 0 sent (XON, with FCRTL.XONE)"),
    ("XOFFRXC", 0x4050, "PAUSE frames of a nonzero time received, as XONRXC"),
    ("XOFFTXC", 0x4054, "PAUSE frames of FCTTV sent (XOFF)"),
    ("FCRUC", 0x4058, "good MAC control frames (type FCT) other than such PAUSE frames"),
    ("PRC64", 0x405C, "good frames delivered, 64 bytes"),
    ("PRC127", 0x4060, "good frames delivered, 65-127 bytes"),
    ("PRC255", 0x4064, "good frames delivered, 128-255 bytes"),
    ("PRC511", 0x4068, "good frames delivered, 256-511 bytes"),
    ("PRC1023", 0x406C, "good frames delivered, 512-1023 bytes"),
    ("PRC1522", 0x4070, "good frames delivered, 1024-1522 bytes"),
    ("GPRC", 0x4074, "good frames delivered to host memory (not those only RCTL.SBP keeps)"),
    ("BPRC", 0x4078, "good broadcast frames delivered"),
    ("MPRC", 0x407C, "good multicast frames delivered"),
    ("GPTC", 0x4080, "good frames transmitted (not those ended with an error)"),
    ("RNBC", 0x40A0, "frames that found no free descriptor and waited in the FIFO, once each"),
    ("RUC", 0x40A4, "under 64 bytes, good FCS, passed the filter"),
    ("RFC", 0x40A8, "fragments: under 64 bytes, bad FCS, whatever the address"),
    ("ROC", 0x40AC, "over 1522 bytes (16384 with RCTL.LPE), good FCS, passed the filter"),
    ("RJC", 0x40B0, "jabbers: over the maximum, bad FCS, whatever the address"),
    ("TPR", 0x40D0, "every frame received, whatever its fate"),
    ("TPT", 0x40D4, "every frame transmitted, aborted ones included"),
    ("PTC64", 0x40D8, "good frames transmitted, 64 bytes"),
    ("PTC127", 0x40DC, "good frames transmitted, 65-127 bytes"),
    ("PTC255", 0x40E0, "good frames transmitted, 128-255 bytes"),
    ("PTC511", 0x40E4, "good frames transmitted, 256-511 bytes"),
    ("PTC1023", 0x40E8, "good frames transmitted, 512-1023 bytes"),
    ("PTC1522", 0x40EC, "good frames transmitted, 1024-1522 bytes"),
    ("MPTC", 0x40F0, "good multicast frames transmitted"),
    ("BPTC", 0x40F4, "good broadcast frames transmitted"),
    ("TSCTC", 0x40F8, "TCP segmentation contexts whose last segment went out whole"),
    ("TSCTFC", 0x40FC, "TCP segmentation contexts that failed (their last segment aborted)"),
)
_STATS64 = (
    ("GORC", 0x4088, "octets of the frames GPRC counts"),
    ("GOTC", 0x4090, "octets of the frames GPTC counts"),
    ("TOR", 0x40C0, "octets of the frames TPR counts"),
    ("TOT", 0x40C8, "octets of the frames TPT counts"),
)


# CTRL.SPEED and STATUS.SPEED.
_SPEEDS = (("MBPS_10", 0b00), ("MBPS_100", 0b01), ("MBPS_1000", 0b10))

REGISTERS = (
    # General (SDM 13.4)
    R("CTRL", 0x0000, A.RW, 0x00140240, "device control", (
        F("FD", 0, doc="full duplex"),
        F("LRST", 3, doc="link reset"),
        F("ASDE", 5, doc="auto-speed detection enable"),
        F("SLU", 6, doc="set link up"),
        F("ILOS", 7, doc="invert loss-of-signal"),
        F("SPEED", 8, 2, "speed selection", values=_SPEEDS),
        F("FRCSPD", 11, doc="force speed"),
        F("FRCDPX", 12, doc="force duplex"),
        F("RST", 26, doc="device reset; reads 1 until the reset has finished", self_clearing=True),
        F("RFCE", 27, doc="receive flow control enable"),
        F("TFCE", 28, doc="transmit flow control enable"),
        F("VME", 30, doc="VLAN mode enable"),
        F("PHY_RST", 31, doc="PHY reset"),
    )),
    R("STATUS", 0x0008, A.RO, 0x80080783, "device status; the reset value is the one read with the link up", (
        F("FD", 0, doc="full duplex"),
        F("LU", 1, doc="link up: PHY link and CTRL.SLU"),
        F("TXOFF", 4, doc="transmission paused"),
        F("SPEED", 6, 2, "link speed", values=_SPEEDS),
        F("ASDV", 8, 2, "auto-speed detection value"),
        F("PCI66", 11, doc="PCI bus at 66 MHz"),
        F("BUS64", 12, doc="64-bit PCI bus"),
        F("PCIX_MODE", 13, doc="PCI-X mode"),
        F("GIO_MASTER_EN", 19, doc="bus mastering may proceed"),
    )),
    R("EECD", 0x0010, A.RW, 0x00000100, "EEPROM/flash control: Microwire bit-bang interface", (
        F("SK", 0, doc="clock to the EEPROM"),
        F("CS", 1, doc="chip select"),
        F("DI", 2, doc="data to the EEPROM"),
        F("DO", 3, doc="data from the EEPROM (read-only)"),
        F("FWE", 4, 2, "flash write enable", values=(("DISABLE", 0b01), ("ENABLE", 0b10))),
        F("REQ", 6, doc="request direct access"),
        F("GNT", 7, doc="direct access granted (read-only)"),
        F("PRES", 8, doc="EEPROM present (read-only)"),
        F("SIZE", 9, doc="EEPROM size: 0 = 64 words (read-only)"),
    )),
    R("EERD", 0x0014, A.RW, 0, "EEPROM read: write START and ADDR, poll DONE, take DATA", (
        F("START", 0, doc="start a read", self_clearing=True),
        F("DONE", 4, doc="read done (read-only)"),
        F("ADDR", 8, 8, "word address"),
        F("DATA", 16, 16, "word read (read-only)"),
    )),
    R("CTRL_EXT", 0x0018, A.RW, 0, "extended device control"),
    R("MDIC", 0x0020, A.RW, 0x10000000, "MDI control: one IEEE 802.3 clause 22 access to the PHY", (
        F("DATA", 0, 16, "data to write / data read"),
        F("REGADD", 16, 5, "PHY register address"),
        F("PHYADD", 21, 5, "PHY address"),
        F("OP", 26, 2, "opcode", values=(("WRITE", 0b01), ("READ", 0b10))),
        F("READY", 28, doc="access complete (read-only)"),
        F("I", 29, doc="raise ICR.MDAC when the access completes"),
        F("E", 30, doc="error: no PHY answered (read-only)"),
    )),
    R("FCAL", 0x0028, A.RW, 0, "flow control address low"),
    R("FCAH", 0x002C, A.RW, 0, "flow control address high"),
    R("FCT", 0x0030, A.RW, 0, "flow control type"),
    R("VET", 0x0038, A.RW, 0x00008100, "VLAN ethertype"),
    # Interrupts (SDM 13.4.17-13.4.21)
    R("ICR", 0x00C0, A.RCW1C, 0, "interrupt cause read: reading returns and clears the causes", _CAUSES),
    R("ITR", 0x00C4, A.RW, 0, "interrupt throttling: minimum interval between interrupts",
      (F("INTERVAL", 0, 16, "in units of 256 ns; 0 disables throttling"),), mask=0xFFFF),
    R("ICS", 0x00C8, A.WSO, 0, "interrupt cause set: writing 1 raises the cause", _CAUSES),
    R("IMS", 0x00D0, A.WS, 0, "interrupt mask set: writing 1 enables the cause; reads the mask", _CAUSES),
    R("IMC", 0x00D8, A.WCO, 0, "interrupt mask clear: writing 1 disables the cause", _CAUSES),
    # Receive (SDM 13.4.22-)
    R("RCTL", 0x0100, A.RW, 0, "receive control", (
        F("EN", 1, doc="receiver enable"),
        F("SBP", 2, doc="store bad packets"),
        F("UPE", 3, doc="unicast promiscuous"),
        F("MPE", 4, doc="multicast promiscuous"),
        F("LPE", 5, doc="long packet enable"),
        F("LBM", 6, 2, "loopback mode"),
        F("RDMTS", 8, 2, "descriptor minimum threshold, a share of the ring",
          values=(("HALF", 0), ("QUARTER", 1), ("EIGHTH", 2))),
        F("MO", 12, 2, "multicast offset: which 12 destination bits index the MTA",
          values=(("BITS_47_36", 0), ("BITS_46_35", 1), ("BITS_45_34", 2), ("BITS_43_32", 3))),
        F("BAM", 15, doc="accept broadcast"),
        F("BSIZE", 16, 2, "buffer size, 16 times it with BSEX (B256 is then 4096 bytes; "
          "B2048 with BSEX is reserved)",
          values=(("B2048", 0), ("B1024", 1), ("B512", 2), ("B256", 3))),
        F("VFE", 18, doc="VLAN filter enable"),
        F("CFIEN", 19), F("CFI", 20),
        F("DPF", 22, doc="discard pause frames"),
        F("PMCF", 23, doc="pass MAC control frames"),
        F("BSEX", 25, doc="buffer size extension"),
        F("SECRC", 26, doc="strip the Ethernet CRC"),
    )),
    R("FCTTV", 0x0170, A.RW, 0, "flow control transmit timer value", (
        F("TTV", 0, 16, "pause time sent in XOFF frames, in 512-bit-time quanta"),
    ), mask=0xFFFF),
    R("TXCW", 0x0178, A.RW, 0, "transmit configuration word"),
    R("RXCW", 0x0180, A.RO, 0, "receive configuration word"),
    # Transmit
    R("TCTL", 0x0400, A.RW, 0, "transmit control", (
        F("EN", 1, doc="transmitter enable"),
        F("PSP", 3, doc="pad short packets to 64 bytes with the FCS"),
        F("CT", 4, 8, "collision threshold"),
        F("COLD", 12, 10, "collision distance"),
        F("SWXOFF", 22, doc="software XOFF"),
        F("RTLC", 24, doc="retransmit on late collision"),
    )),
    R("TIPG", 0x0410, A.RW, 0, "transmit inter-packet gap", (
        F("IPGT", 0, 10, "back-to-back gap in byte times"),
        F("IPGR1", 10, 10), F("IPGR2", 20, 10),
    )),
    R("AIT", 0x0458, A.RW, 0, "adaptive IFS throttle"),
    R("LEDCTL", 0x0E00, A.RW, 0x00000602, "LED control"),
    R("PBA", 0x1000, A.RW, 0x00100030, "packet buffer allocation",
      (F("RXA", 0, 16, "receive buffer, KB"), F("TXA", 16, 16, "transmit buffer, KB"))),
    R("FCRTL", 0x2160, A.RW, 0, "flow control receive threshold low", (
        F("RTL", 3, 13, "XON under this many 8-byte units in the receive FIFO"),
        F("XONE", 31, doc="send XON"),
    ), mask=0x8000FFF8),
    R("FCRTH", 0x2168, A.RW, 0, "flow control receive threshold high", (
        F("RTH", 3, 13, "XOFF at this many 8-byte units in the receive FIFO"),
    ), mask=0x0000FFF8),
    *_ring("RD", 0x2800, "receive"),
    R("RDTR", 0x2820, A.RW, 0, "receive delay timer", (F("DELAY", 0, 16, "units of 1.024 us"),
                                                      F("FPD", 31, doc="flush partial descriptor block",
                                                        self_clearing=True)), mask=0x0000FFFF),
    R("RADV", 0x282C, A.RW, 0, "receive absolute delay timer", (F("DELAY", 0, 16, "units of 1.024 us"),),
      mask=0xFFFF),
    R("RSRPD", 0x2C00, A.RW, 0, "receive small packet detect"),
    *_ring("TD", 0x3800, "transmit"),
    R("TIDV", 0x3820, A.RW, 0, "transmit interrupt delay", (F("DELAY", 0, 16, "units of 1.024 us"),),
      mask=0xFFFF),
    R("TXDCTL", 0x3828, A.RW, 0, "transmit descriptor control"),
    R("TADV", 0x382C, A.RW, 0, "transmit absolute delay", (F("DELAY", 0, 16, "units of 1.024 us"),),
      mask=0xFFFF),
    R("RXCSUM", 0x5000, A.RW, 0, "receive checksum control", (
        F("PCSS", 0, 8, "packet checksum start (not computed here)"),
        F("IPOFL", 8, doc="IPv4 header checksum offload: IPCS, IPE in the descriptor"),
        F("TUOFL", 9, doc="TCP/UDP checksum offload: TCPCS, TCPE in the descriptor"),
    ), mask=0x3FF),
    # Statistics
    *(R(n, o, A.CNT, 0, d) for n, o, d in _STATS),
    *(r for n, o, d in _STATS64 for r in (R(f"{n}L", o, A.CNTL, 0, f"{d}, low 32 bits"),
                                            R(f"{n}H", o + 4, A.CNTH, 0, f"{d}, high 32 bits"))),
    # Address filtering
    R("MTA", 0x5200, A.RW, 0, "multicast table array: 4096-bit hash filter", count=128),
    R("RAL", 0x5400, A.RW, 0, "receive address low: bytes 0-3 of the MAC address", count=16, stride=8),
    R("RAH", 0x5404, A.RW, 0, "receive address high: bytes 4-5, address select and valid", (
        F("RAH", 0, 16, "bytes 4-5 of the address"),
        F("ASEL", 16, 2, "address select: 0 = destination"),
        F("AV", 31, doc="address valid"),
    ), count=16, stride=8),
    R("VFTA", 0x5600, A.RW, 0, "VLAN filter table array", count=128),
    # Wake-up and manageability
    R("WUC", 0x5800, A.RW, 0, "wake-up control"),
    R("WUFC", 0x5808, A.RW, 0, "wake-up filter control"),
    R("WUS", 0x5810, A.W1C, 0, "wake-up status"),
    R("MANC", 0x5820, A.RW, 0x00222300, "management control", (F("ARP_EN", 13, doc="ARP request filtering"),)),
)

# Registers with behaviour of their own, by the block that implements them; every other one
# is storage in the register file, and the statistics counters are the statistics block's.
_OWNERS = {
    "CTRL": "control", "STATUS": "control",
    "EECD": "eeprom", "EERD": "eeprom",
    "MDIC": "mdio_master",
    "ICR": "interrupts", "ICS": "interrupts", "IMS": "interrupts", "IMC": "interrupts",
    "ITR": "interrupts",
    "TDH": "txdma", "RDH": "rxdma",
}
# Where each block is written, for the register document.
SOURCES = {"control": "hw/control.py", "eeprom": "hw/eeprom.py", "mdio_master": "hw/mdio.py",
           "interrupts": "hw/irq.py", "txdma": "hw/txdma.py", "rxdma": "hw/rxdma.py",
           "stats": "hw/stats.py", "regfile": "hw/regfile.py"}

BY_NAME = {r.name: r for r in REGISTERS}
assert set(_OWNERS) <= set(BY_NAME)
STATS = tuple(r for r in REGISTERS if r.access in (A.CNT, A.CNTL, A.CNTH))


class _Namespace:
    """``reg.CTRL`` is the CTRL register; ``reg.CTRL.RST`` its RST field."""
    def __getattr__(self, name):
        try:
            return BY_NAME[name]
        except KeyError:
            raise AttributeError(f"no register named {name}") from None

    def __iter__(self):
        return iter(REGISTERS)


reg = _Namespace()


# Receive buffer sizes in bytes, by RCTL's (BSEX, BSIZE) (SDM 13.4.22). BSEX with BSIZE 0 is
# reserved; the engine takes it as 2048 bytes.
RX_BUFFER_SIZES = {(0, reg.RCTL.BSIZE.B2048): 2048, (0, reg.RCTL.BSIZE.B1024): 1024,
                   (0, reg.RCTL.BSIZE.B512): 512, (0, reg.RCTL.BSIZE.B256): 256,
                   (1, reg.RCTL.BSIZE.B2048): 2048, (1, reg.RCTL.BSIZE.B1024): 16384,
                   (1, reg.RCTL.BSIZE.B512): 8192, (1, reg.RCTL.BSIZE.B256): 4096}


def rx_buffer_bits(size):
    """RCTL's BSEX and BSIZE bits for buffers of ``size`` bytes."""
    codes = [code for code, bytes_ in RX_BUFFER_SIZES.items() if bytes_ == size]
    if not codes:
        raise ValueError(f"no receive buffer size of {size} bytes "
                         f"(sizes: {sorted(set(RX_BUFFER_SIZES.values()))})")
    bsex, bsize = codes[0]
    return reg.RCTL.value(BSEX=bsex, BSIZE=bsize)


def _build_index():
    index = {}
    for r in REGISTERS:
        for n in range(r.count):
            off = r.offset + n * r.stride
            assert off not in index, f"{r.name} overlaps {index[off][0].name} at {off:#x}"
            index[off] = (r, n)
    return index


_INDEX = _build_index()


def register_at(offset):
    """The ``(register, element)`` at a BAR0 byte offset, or ``None`` for an unknown offset."""
    return _INDEX.get(offset & ~3)


def markdown():
    """The register document, generated from the map."""
    lines = [
        "# Register map",
        "",
        "Generated by `python -m hw.regmap` from `hw/regmap.py`; do not edit by hand.",
        "Offsets are bytes into BAR0 (128 KiB); BAR1 reaches the same registers through",
        "IOADDR (+0) and IODATA (+4). Offsets not listed read 0 and ignore writes.",
        "",
        "| Register | Offset | Reset | Access | Implemented in | Description |",
        "|---|---|---|---|---|---|",
    ]
    for r in REGISTERS:
        name = r.name if r.count == 1 else f"{r.name}[0..{r.count - 1}]"
        off = f"0x{r.offset:04X}" if r.count == 1 else \
            f"0x{r.offset:04X} + {r.stride}n"
        lines.append(f"| {name} | {off} | 0x{r.reset:08X} | {r.access.value} | "
                     f"`{SOURCES[r.owner]}` | {r.doc} |")
    lines += ["", "## Fields", ""]
    for r in REGISTERS:
        if not r.fields:
            continue
        lines += [f"### {r.name}", "", "| Field | Bits | Description |", "|---|---|---|"]
        for f in r.fields:
            bits = str(f.lsb) if f.width == 1 else f"{f.lsb + f.width - 1}:{f.lsb}"
            sc = " (self-clearing)" if f.self_clearing else ""
            values = ", ".join(f"{name} = {code:#0{f.width + 2}b}" for name, code in f.values)
            values = f" ({values})" if values else ""
            lines.append(f"| {f.name} | {bits} | {f.doc}{values}{sc} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
