"""The EEPROM: 64 words read through EERD, or bit-banged through EECD as a Microwire device.

Reference: SDM 5 (EEPROM interface; 5.6 the word map), 13.4.4 (EECD), 13.4.5 (EERD);
the Microwire read cycle of 93C46-class serial EEPROMs.

The contents are a ROM whose initial contents are fixed at elaboration (``eeprom_image`` builds
the default one); a simulation may load another image into it before the first clock edge. After
each reset the block reads the station address from words 0-2 and hands it to the register file
(``StationLoadSignature``), as the 82540EM loads RAL0/RAH0 from its EEPROM (SDM 5.6.1). Software
reads a word in one of two ways:

- EERD: write START and ADDR, poll DONE, take DATA.
- EECD: drive CS, SK and DI and sample DO, as on a serial EEPROM. With CS high, each rising edge
  of SK shifts DI in: a start bit (1), the opcode (0b10 = READ) and a 6-bit address; on that last
  edge DO goes to the dummy 0, and each following rising edge presents the next data bit, most
  significant first, going on into the next word. A rising edge of CS starts a new command.
  REQ is granted at once (GNT follows it), PRES reads 1 and SIZE 0 (64 words).
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from .bus import RegBusSignature, decode, masked, read_mux
from .regmap import reg


__all__ = ["EEPROM", "StationLoadSignature", "eeprom_image", "WORDS", "CHECKSUM"]


WORDS = 64
CHECKSUM = 0xBABA         # words 0..0x3F sum to this (SDM 5.6.22)
_MW_READ = 0b10
_ADDR_BITS = 6


def eeprom_image(mac, *, device_id=0x100E, vendor_id=0x8086, subsystem_id=None, subsystem_vendor_id=None):
    """A 64-word image: MAC address, PCI identity and the checksum word (SDM table 5-2)."""
    mac = bytes(mac)
    if len(mac) != 6:
        raise ValueError(f"a MAC address has 6 bytes, not {len(mac)}")
    words = [0xFFFF] * WORDS
    words[0:3] = [mac[0] | mac[1] << 8, mac[2] | mac[3] << 8, mac[4] | mac[5] << 8]
    words[0x03:0x0B] = [0x0000] * 8        # compatibility, OEM and PBA words: none
    words[0x0B] = device_id if subsystem_id is None else subsystem_id
    words[0x0C] = vendor_id if subsystem_vendor_id is None else subsystem_vendor_id
    words[0x0D] = device_id
    words[0x0E] = vendor_id
    words[0x3F] = (CHECKSUM - sum(words[:0x3F])) & 0xFFFF
    return words


class StationLoadSignature(wiring.Signature):
    """The station address read from the EEPROM: ``address`` (byte 0 in bits 0-7) is valid in the
    cycle ``load`` is high, once, five cycles after each reset ends."""

    def __init__(self):
        super().__init__({"load": Out(1), "address": Out(48)})


class EEPROM(wiring.Component):
    """Register reads: EERD's DONE four cycles after START; EECD's DO one cycle after the SK
    edge that asks for it. The station address goes out on ``station`` five cycles after reset.

    Parameters
    ----------
    words : list of int
        The 64 words of the EEPROM at power-up.

    Members
    -------
    bus : In(RegBusSignature)
    station : Out(StationLoadSignature)
    rom : memory.Memory
        The contents, 64 words of 16 bits (a simulation may load another image).
    """
    bus: In(RegBusSignature)
    station: Out(StationLoadSignature())

    def __init__(self, words):
        words = list(words)
        if len(words) != WORDS or any(not 0 <= w <= 0xFFFF for w in words):
            raise ValueError(f"an EEPROM image is {WORDS} 16-bit words")
        super().__init__()
        # In block RAM: as logic, the ROM's size would depend on the image. Both ports are read
        # through a register that synthesis makes the block RAM's output register (``hw.synth``).
        self.rom = memory.Memory(shape=16, depth=WORDS, init=words,
                                 attrs={"ram_style": "block"})
        # EECD's Microwire pins, named here so that waveform viewers can find them.
        self.sk = Signal()
        self.cs = Signal()
        self.di = Signal()
        self.do = Signal()

    def elaborate(self, platform):
        m = Module()
        bus = self.bus
        m.submodules.rom = rom = self.rom

        # EERD, whose read port first loads the station address. Its data is registered (no
        # reset, loaded in every cycle): a word is in ``eerd_q`` two cycles after its address.
        eerd_port = rom.read_port()
        eerd_q = Signal(16, reset_less=True)
        m.d.sync += eerd_q.eq(eerd_port.data)
        eerd_addr = Signal(8)
        eerd_done = Signal()
        eerd_busy = Signal(2)       # cycles until the ROM's answer is in
        eerd_data = Signal(16)
        loading = Signal(init=1)    # from reset until the station address is in
        load_word = Signal(3)       # the word asked for; its data comes two cycles later
        m.d.comb += eerd_port.addr.eq(Mux(loading, load_word, eerd_addr))
        with m.If(loading):
            m.d.sync += load_word.eq(load_word + 1)
            with m.If(load_word >= 2):
                m.d.sync += self.station.address.eq(Cat(self.station.address[16:], eerd_q))
            with m.If(load_word == 4):
                m.d.sync += loading.eq(0)
        m.d.sync += self.station.load.eq(loading & (load_word == 4))
        with m.If(bus.w_stb & decode(m, bus, bus.addr == reg.EERD.index)):
            value = masked(0, bus)
            with m.If(value & reg.EERD.START.mask):
                m.d.sync += [
                    eerd_addr.eq(reg.EERD.view(value).addr),
                    eerd_done.eq(0),
                    eerd_busy.eq(3),
                ]
        with m.Elif(eerd_busy != 0):
            # The address is registered, then the ROM answers two cycles later.
            m.d.sync += eerd_busy.eq(eerd_busy - 1)
            with m.If(eerd_busy == 1):
                m.d.sync += [eerd_done.eq(1), eerd_data.eq(eerd_q)]
        eerd = Signal(32)
        fields = reg.EERD.view(eerd)
        m.d.comb += [fields.data.eq(eerd_data), fields.addr.eq(eerd_addr), fields.done.eq(eerd_done)]

        # EECD and the Microwire device behind it.
        sk, cs, di, do = self.sk, self.cs, self.di, self.do
        req = Signal()
        fwe = Signal(2)
        with m.If(bus.w_stb & decode(m, bus, bus.addr == reg.EECD.index)):
            written = reg.EECD.view(masked(0, bus))
            m.d.sync += [sk.eq(written.sk), cs.eq(written.cs), di.eq(written.di),
                         req.eq(written.req), fwe.eq(written.fwe)]
        eecd = Signal(32)
        fields = reg.EECD.view(eecd)
        m.d.comb += [fields.sk.eq(sk), fields.cs.eq(cs), fields.di.eq(di), fields.do.eq(do),
                     fields.fwe.eq(fwe), fields.req.eq(req), fields.gnt.eq(req), fields.pres.eq(1)]

        # Its data is registered as EERD's is. An address takes effect long before its first
        # data bit is asked for: SK edges come from register writes, many cycles apart.
        mw_port = rom.read_port()
        mw_q = Signal(16, reset_less=True)
        m.d.sync += mw_q.eq(mw_port.data)
        sk_q = Signal()
        cs_q = Signal()
        bits = Signal(range(16))
        opcode = Signal(2)
        mw_addr = Signal(_ADDR_BITS)
        m.d.sync += [sk_q.eq(sk), cs_q.eq(cs)]
        m.d.comb += mw_port.addr.eq(mw_addr)
        sk_rise = sk & ~sk_q & cs

        # A rising edge of CS, or CS low, ends any command.
        restart = ~cs | ~cs_q
        with m.If(restart):
            m.d.sync += do.eq(0)
        with m.FSM(name="microwire") as fsm:
            with m.State("IDLE"):               # waiting for the start bit
                with m.If(~restart & sk_rise & di):
                    m.d.sync += [bits.eq(0), opcode.eq(0)]
                    m.next = "OPCODE"
            with m.State("OPCODE"):
                with m.If(restart):
                    m.next = "IDLE"
                with m.Elif(sk_rise):
                    m.d.sync += [opcode.eq((opcode << 1) | di), bits.eq(bits + 1)]
                    with m.If(bits == 1):
                        m.d.sync += bits.eq(0)
                        m.next = "ADDRESS"
            with m.State("ADDRESS"):
                with m.If(restart):
                    m.next = "IDLE"
                with m.Elif(sk_rise):
                    m.d.sync += [mw_addr.eq((mw_addr << 1) | di), bits.eq(bits + 1)]
                    with m.If(bits == _ADDR_BITS - 1):
                        m.d.sync += [bits.eq(0), do.eq(0)]
                        # Only READ is answered; write and erase opcodes find a ROM.
                        with m.If(opcode == _MW_READ):
                            m.next = "DATA"
                        with m.Else():
                            m.next = "IDLE"
            with m.State("DATA"):
                with m.If(restart):
                    m.next = "IDLE"
                with m.Elif(sk_rise):
                    m.d.sync += [do.eq(mw_q[::-1].bit_select(bits, 1)), bits.eq(bits + 1)]
                    with m.If(bits == 15):
                        m.d.sync += mw_addr.eq(mw_addr + 1)

        self._fsm = fsm
        read_mux(m, bus, {
            reg.EECD.index: eecd,
            reg.EERD.index: eerd,
        })
        return m

    def waveforms(self):
        """What a waveform viewer shows of this block (once elaborated): the Microwire pins
        and state, and the station address load."""
        return {"sk": self.sk, "cs": self.cs, "di": self.di, "do": self.do,
                "microwire": self._fsm.state, "station_load": self.station.load}
