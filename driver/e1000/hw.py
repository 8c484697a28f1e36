"""The hardware layer of the e1000 driver: registers, reset, EEPROM, PHY and link.

Shaped like the Linux driver's e1000_hw.c, for the 82540EM only. Register names, offsets and
fields come from ``hw.regmap``, the same declarations the hardware is built from. Waits on the
hardware poll a condition with a time limit; none sleeps a fixed time.
"""

from hw.regmap import reg

from ..kernel import KernelTimeout


__all__ = ["E1000HW", "EepromError", "PhyError", "EEPROM_CHECKSUM", "M88E1011_I_PHY_ID",
           "PHY_ADDRESS", "EEPROM_ACCESS"]


EEPROM_CHECKSUM = 0xBABA
EEPROM_WORDS = 64
EEPROM_ACCESS = ("eerd", "microwire")
M88E1011_I_PHY_ID = 0x01410C20
PHY_ADDRESS = 1

# PHY registers (IEEE 802.3 clause 22) and their bits used here.
PHY_CTRL = 0x00
PHY_STATUS = 0x01
PHY_ID1 = 0x02
PHY_ID2 = 0x03
PHY_AUTONEG_ADV = 0x04
PHY_LP_ABILITY = 0x05
PHY_1000T_CTRL = 0x09
MII_CR_AUTO_NEG_EN = 1 << 12
MII_CR_RESTART_AUTO_NEG = 1 << 9
NWAY_AR_ALL_CAPS = 0x01E0 | 0x0001          # 10/100 half/full, IEEE 802.3 selector
NWAY_AR_PAUSE = 0x0400                      # symmetric pause
NWAY_AR_ASM_DIR = 0x0800                    # asymmetric pause
NWAY_LPAR_PAUSE, NWAY_LPAR_ASM_DIR = NWAY_AR_PAUSE, NWAY_AR_ASM_DIR

# Flow control (e1000_fc_type): which way PAUSE frames are honoured (RX) and sent (TX).
FC_NONE, FC_RX_PAUSE, FC_TX_PAUSE, FC_FULL = 0, 1, 2, 3
FC_NAMES = {FC_NONE: "None", FC_RX_PAUSE: "RX", FC_TX_PAUSE: "TX", FC_FULL: "RX/TX"}
FC_PAUSE_TIME = 0xFFFF                      # E1000_FC_PAUSE_TIME, in 512-bit-time quanta
EEPROM_INIT_CONTROL2_REG = 0x0F
EEPROM_WORD0F_PAUSE_MASK = 0x3000
EEPROM_WORD0F_ASM_DIR = 0x2000
FLOW_CONTROL_ADDRESS = 0x0100_00C2_8001     # 01:80:C2:00:00:01 as FCAH:FCAL
FLOW_CONTROL_TYPE = 0x8808
CR_1000T_FD_CAPS = 0x0200
CR_1000T_HD_CAPS = 0x0100

_MICROWIRE_READ = 0b110
_MICROWIRE_ADDR_BITS = 6


class EepromError(Exception):
    pass


class PhyError(Exception):
    pass


class E1000HW:
    """Register access and the hardware routines, over a mapped BAR0 and the I/O BAR."""

    def __init__(self, kernel, hw_addr, io_base=None, *, eeprom_access="eerd"):
        if eeprom_access not in EEPROM_ACCESS:
            raise ValueError(f"eeprom access must be one of {', '.join(EEPROM_ACCESS)}")
        self.kernel = kernel
        self.hw_addr = hw_addr
        self.io_base = io_base
        self.eeprom_access = eeprom_access
        self.mac_addr = None
        self.phy_id = None
        self.original_fc = FC_FULL     # what the EEPROM asks for (``setup_link``)
        self.fc = FC_FULL              # ...and what the link resolved it to

    # Registers.

    async def er32(self, register, n=0):
        return await self.hw_addr.read32(register.at(n))

    async def ew32(self, register, value, n=0):
        await self.hw_addr.write32(register.at(n), value)

    async def update32(self, register, *, set=0, clear=0, n=0):
        """Read ``register``, clear the bits of ``clear``, set those of ``set``, write it back."""
        value = await self.er32(register, n)
        await self.ew32(register, (value & ~clear) | set, n)

    async def write_flush(self):
        await self.er32(reg.STATUS)

    async def io_write32(self, register, value):
        """Write a register through the I/O window: IOADDR, then IODATA."""
        await self.io_base.write32(0x0, register.offset)
        await self.io_base.write32(0x4, value)

    async def _poll(self, register, condition, *, sleep_us, timeout_us, what):
        return await self.kernel.poll_timeout(lambda: self.er32(register), condition,
                                              sleep_us=sleep_us, timeout_us=timeout_us, what=what)

    # Reset.

    async def reset_hw(self):
        """Quiesce the device and reset it through the I/O window, as the 82540EM wants."""
        await self.ew32(reg.IMC, 0xFFFFFFFF)
        await self.ew32(reg.RCTL, 0)
        await self.ew32(reg.TCTL, reg.TCTL.PSP.mask)
        await self.write_flush()
        ctrl = await self.er32(reg.CTRL)
        if self.io_base is not None:
            await self.io_write32(reg.CTRL, ctrl | reg.CTRL.RST.mask)
        else:
            await self.ew32(reg.CTRL, ctrl | reg.CTRL.RST.mask)
        await self._poll(reg.CTRL, lambda v: not v & reg.CTRL.RST.mask,
                         sleep_us=1, timeout_us=10_000, what="CTRL.RST to clear")
        manc = await self.er32(reg.MANC)
        await self.ew32(reg.MANC, manc & ~reg.MANC.ARP_EN.mask)
        await self.ew32(reg.IMC, 0xFFFFFFFF)
        await self.er32(reg.ICR)

    # EEPROM.

    async def read_eeprom(self, offset, words=1):
        if offset < 0 or words < 1 or offset + words > EEPROM_WORDS:
            raise EepromError(f"EEPROM words {offset}..{offset + words - 1} do not exist")
        if self.eeprom_access == "eerd":
            return [await self._read_eerd(offset + i) for i in range(words)]
        return await self._read_microwire(offset, words)

    async def _read_eerd(self, address):
        await self.ew32(reg.EERD, reg.EERD.START.mask | reg.EERD.ADDR.put(address))
        try:
            value = await self._poll(reg.EERD, lambda v: v & reg.EERD.DONE.mask,
                                     sleep_us=1, timeout_us=1000, what="EERD.DONE")
        except KernelTimeout as e:
            raise EepromError(str(e)) from None
        return reg.EERD.DATA.get(value)

    async def _eecd(self, value):
        await self.ew32(reg.EECD, value)
        return value

    async def _clock(self, eecd):
        eecd = await self._eecd(eecd | reg.EECD.SK.mask)
        return await self._eecd(eecd & ~reg.EECD.SK.mask)

    async def _read_microwire(self, offset, words):
        sk, cs, di, do = (reg.EECD.SK.mask, reg.EECD.CS.mask, reg.EECD.DI.mask, reg.EECD.DO.mask)
        eecd = await self.er32(reg.EECD)
        eecd = await self._eecd(eecd | reg.EECD.REQ.mask)
        await self._poll(reg.EECD, lambda v: v & reg.EECD.GNT.mask,
                         sleep_us=1, timeout_us=1000, what="EECD.GNT")
        result = []
        try:
            for address in range(offset, offset + words):
                eecd = await self._eecd(eecd & ~(di | sk | cs))
                eecd = await self._eecd(eecd | cs)
                command = (_MICROWIRE_READ << _MICROWIRE_ADDR_BITS) | address
                for bit in reversed(range(3 + _MICROWIRE_ADDR_BITS)):
                    eecd = (eecd | di) if command >> bit & 1 else (eecd & ~di)
                    eecd = await self._clock(await self._eecd(eecd))
                eecd &= ~di
                word = 0
                for _ in range(16):
                    await self._eecd(eecd | sk)
                    word = (word << 1) | bool(await self.er32(reg.EECD) & do)
                    eecd = await self._eecd(eecd & ~sk)
                result.append(word)
        finally:
            await self._eecd(eecd & ~(cs | di | sk | reg.EECD.REQ.mask))
        return result

    async def validate_eeprom_checksum(self):
        words = await self.read_eeprom(0, EEPROM_WORDS)
        checksum = sum(words) & 0xFFFF
        if checksum != EEPROM_CHECKSUM:
            raise EepromError(f"The EEPROM Checksum Is Not Valid (sum {checksum:#06x}, "
                              f"expected {EEPROM_CHECKSUM:#06x})")
        return words

    async def read_mac_addr(self):
        words = await self.read_eeprom(0, 3)
        self.mac_addr = b"".join(w.to_bytes(2, "little") for w in words)
        return self.mac_addr

    async def rar_set(self, mac, index):
        await self.ew32(reg.RAL, int.from_bytes(mac[0:4], "little"), index)
        await self.ew32(reg.RAH, int.from_bytes(mac[4:6], "little") | reg.RAH.AV.mask, index)

    # PHY.

    async def _mdic(self, value, what):
        await self.ew32(reg.MDIC, value)
        try:
            mdic = await self._poll(reg.MDIC, lambda v: v & reg.MDIC.READY.mask,
                                    sleep_us=5, timeout_us=1000, what=what)
        except KernelTimeout as e:
            raise PhyError(f"MDI Read did not complete: {e}") from None
        if mdic & reg.MDIC.E.mask:
            raise PhyError(f"MDI Error: no answer from PHY {PHY_ADDRESS} to {what}")
        return mdic

    async def read_phy_reg(self, address):
        mdic = await self._mdic(reg.MDIC.REGADD.put(address) | reg.MDIC.PHYADD.put(PHY_ADDRESS)
                                | reg.MDIC.OP.put(reg.MDIC.OP.READ), f"a read of register {address}")
        return reg.MDIC.DATA.get(mdic)

    async def write_phy_reg(self, address, value):
        await self._mdic(reg.MDIC.DATA.put(value) | reg.MDIC.REGADD.put(address)
                         | reg.MDIC.PHYADD.put(PHY_ADDRESS) | reg.MDIC.OP.put(reg.MDIC.OP.WRITE),
                         f"a write of register {address}")

    async def detect_gig_phy(self):
        self.phy_id = (await self.read_phy_reg(PHY_ID1) << 16) | await self.read_phy_reg(PHY_ID2)
        if self.phy_id & ~0xF != M88E1011_I_PHY_ID:
            raise PhyError(f"PHY id {self.phy_id:#010x} is not an M88E1011")
        return self.phy_id

    async def setup_link(self, max_frame_size):
        """As e1000_setup_link: the flow control the EEPROM asks for (ICW2's pause bits), the
        link, and the flow control registers: the PAUSE address and type, the pause time sent,
        and the receive FIFO's water marks when PAUSE frames are to be sent (as e1000_reset
        works them out from the receive packet buffer, PBA)."""
        icw2 = (await self.read_eeprom(EEPROM_INIT_CONTROL2_REG))[0]
        if not icw2 & EEPROM_WORD0F_PAUSE_MASK:
            self.original_fc = FC_NONE
        elif icw2 & EEPROM_WORD0F_PAUSE_MASK == EEPROM_WORD0F_ASM_DIR:
            self.original_fc = FC_TX_PAUSE
        else:
            self.original_fc = FC_FULL
        self.fc = self.original_fc
        await self.setup_copper_link()
        await self.ew32(reg.FCT, FLOW_CONTROL_TYPE)
        await self.ew32(reg.FCAH, FLOW_CONTROL_ADDRESS >> 32)
        await self.ew32(reg.FCAL, FLOW_CONTROL_ADDRESS & 0xFFFFFFFF)
        await self.ew32(reg.FCTTV, FC_PAUSE_TIME)
        await self.set_water_marks(max_frame_size)

    async def set_water_marks(self, max_frame_size):
        """FCRTH nine tenths of the receive buffer or a largest frame short of full, FCRTL 8
        bytes under it with XON, while PAUSE frames are to be sent; else zero."""
        pba = reg.PBA.RXA.get(await self.er32(reg.PBA)) << 10
        high = min(pba * 9 // 10, pba - max_frame_size) & 0xFFF8
        if self.fc & FC_TX_PAUSE:
            await self.ew32(reg.FCRTL, (high - 8) | reg.FCRTL.XONE.mask)
            await self.ew32(reg.FCRTH, high)
        else:
            await self.ew32(reg.FCRTL, 0)
            await self.ew32(reg.FCRTH, 0)

    async def setup_copper_link(self):
        """Advertise every speed and duplex, and pause as the flow control asks
        (e1000_phy_setup_autoneg), and restart autonegotiation."""
        pause = {FC_NONE: 0, FC_RX_PAUSE: NWAY_AR_PAUSE | NWAY_AR_ASM_DIR,
                 FC_TX_PAUSE: NWAY_AR_ASM_DIR,
                 FC_FULL: NWAY_AR_PAUSE | NWAY_AR_ASM_DIR}[self.fc]
        await self.write_phy_reg(PHY_AUTONEG_ADV, NWAY_AR_ALL_CAPS | pause)
        await self.write_phy_reg(PHY_1000T_CTRL, CR_1000T_FD_CAPS | CR_1000T_HD_CAPS)
        ctrl = await self.read_phy_reg(PHY_CTRL)
        await self.write_phy_reg(PHY_CTRL, ctrl | MII_CR_AUTO_NEG_EN | MII_CR_RESTART_AUTO_NEG)

    # Link.

    async def check_for_link(self):
        return bool(await self.er32(reg.STATUS) & reg.STATUS.LU.mask)

    async def get_speed_and_duplex(self):
        status = await self.er32(reg.STATUS)
        speed = {0b00: 10, 0b01: 100}.get(reg.STATUS.SPEED.get(status), 1000)
        duplex = "Full" if status & reg.STATUS.FD.mask else "Half"
        return speed, duplex

    async def config_fc_after_link_up(self):
        """As e1000_config_fc_after_link_up: resolve what both ends advertised (IEEE 802.3
        annex 28B) and set CTRL.RFCE and TFCE for it. When the partner does not pause, the
        driver still honours PAUSE frames if it asked for them (Linux's "RX" with a partner
        that advertises nothing)."""
        adv = await self.read_phy_reg(PHY_AUTONEG_ADV)
        lp = await self.read_phy_reg(PHY_LP_ABILITY)
        if adv & NWAY_AR_PAUSE and lp & NWAY_LPAR_PAUSE:
            fc = FC_FULL if self.original_fc == FC_FULL else FC_RX_PAUSE
        elif not adv & NWAY_AR_PAUSE and adv & NWAY_AR_ASM_DIR \
                and lp & NWAY_LPAR_PAUSE and lp & NWAY_LPAR_ASM_DIR:
            fc = FC_TX_PAUSE
        elif adv & NWAY_AR_PAUSE and adv & NWAY_AR_ASM_DIR \
                and not lp & NWAY_LPAR_PAUSE and lp & NWAY_LPAR_ASM_DIR:
            fc = FC_RX_PAUSE
        elif self.original_fc in (FC_NONE, FC_TX_PAUSE):
            fc = FC_NONE
        else:
            fc = FC_RX_PAUSE
        self.fc = fc
        await self.update32(reg.CTRL, clear=reg.CTRL.RFCE.mask | reg.CTRL.TFCE.mask,
                            set=(reg.CTRL.RFCE.mask if fc & FC_RX_PAUSE else 0)
                            | (reg.CTRL.TFCE.mask if fc & FC_TX_PAUSE else 0))

    async def flow_control(self):
        ctrl = await self.er32(reg.CTRL)
        rx, tx = ctrl & reg.CTRL.RFCE.mask, ctrl & reg.CTRL.TFCE.mask
        return FC_NAMES[(FC_RX_PAUSE if rx else 0) | (FC_TX_PAUSE if tx else 0)]

    async def bus_info(self):
        status = await self.er32(reg.STATUS)
        mode = "PCI-X" if status & reg.STATUS.PCIX_MODE.mask else ""
        mhz = 66 if status & reg.STATUS.PCI66.mask else 33
        width = 64 if status & reg.STATUS.BUS64.mask else 32
        return f"PCI{mode}:{mhz}MHz:{width}-bit"
