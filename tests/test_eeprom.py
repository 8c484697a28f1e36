"""The EEPROM through EERD and through Microwire, its checksum, and a corrupted image."""

import pytest

from driver.e1000.hw import E1000HW, EepromError
from hw.core import DEFAULT_MAC
from hw.eeprom import CHECKSUM, eeprom_image
from hw.regmap import reg
from sim.machine import Machine

from harness import COMPILED, run


def test_default_image():
    words = eeprom_image(DEFAULT_MAC)
    assert words[:3] == [0x5452, 0x1200, 0x5634]
    assert words[0x0B:0x0F] == [0x100E, 0x8086, 0x100E, 0x8086]
    assert sum(words) & 0xFFFF == CHECKSUM == 0xBABA
    with pytest.raises(ValueError):
        eeprom_image(b"\x00" * 5)


def test_eerd_reads_every_word():
    image = eeprom_image(bytes.fromhex("020000abcdef"))

    async def tb(backend, regs):
        words = []
        for address in range(64):
            await regs.write(reg.EERD, reg.EERD.START.mask | address << 8)
            while not (value := await regs.read(reg.EERD)) & reg.EERD.DONE.mask:
                pass
            assert (value >> 8) & 0xFF == address
            words.append(value >> 16)
        return words

    assert run(tb, eeprom=image) == image


def hw_layer(world, access):
    pdev = world.devices[0]
    return pdev, E1000HW(world.kernel, pdev.iomap(0), pdev.iomap(1), eeprom_access=access)


def test_microwire_reads_the_same_words_as_eerd():
    image = eeprom_image(bytes.fromhex("02a1b2c3d4e5"))
    machine = Machine(eeprom=image, console=lambda line: None, backend="amaranth")

    async def scenario(world):
        pdev, hw = hw_layer(world, "microwire")
        await pdev.enable_device()
        eecd = await hw.er32(reg.EECD)
        microwire = await hw.read_eeprom(0, 4) + await hw.read_eeprom(0x3D, 3)
        hw.eeprom_access = "eerd"
        eerd = await hw.read_eeprom(0, 4) + await hw.read_eeprom(0x3D, 3)
        return eecd, microwire, eerd, await hw.er32(reg.EECD)

    eecd, microwire, eerd, eecd_after = machine.run(scenario)
    assert eecd == reg.EECD.PRES.mask            # present, 64 words, not requested
    assert microwire == eerd == image[0:4] + image[0x3D:0x40]
    assert eecd_after == reg.EECD.PRES.mask      # released: CS low, REQ dropped


def test_eecd_grant_follows_request():
    async def tb(backend, regs):
        await regs.write(reg.EECD, reg.EECD.REQ.mask)
        granted = await regs.read(reg.EECD)
        await regs.write(reg.EECD, 0)
        return granted, await regs.read(reg.EECD)

    granted, released = run(tb)
    assert granted == reg.EECD.REQ.mask | reg.EECD.GNT.mask | reg.EECD.PRES.mask
    assert released == reg.EECD.PRES.mask


def test_driver_refuses_a_bad_checksum():
    image = eeprom_image(DEFAULT_MAC)
    image[0x3F] ^= 0x0100
    lines = []
    machine = Machine(eeprom=image, console=lines.append, backend="amaranth")
    status = machine.run_script(["insmod e1000", "ip link set eth0 up"])
    text = "\n".join(lines)
    assert (f"e1000 0000:00:03.0: The EEPROM Checksum Is Not Valid (sum {sum(image) & 0xFFFF:#06x}, "
            f"expected 0xbaba)") in text
    assert "probe of 0000:00:03.0 failed" in text
    assert "ip: can't find device 'eth0'" in text
    assert status == 1


def test_hw_layer_checks_word_ranges():
    machine = Machine(console=lambda line: None, backend=COMPILED)

    async def scenario(world):
        pdev, hw = hw_layer(world, "eerd")
        with pytest.raises(EepromError):
            await hw.read_eeprom(63, 2)
        with pytest.raises(ValueError):
            E1000HW(world.kernel, None, eeprom_access="spi")
        return True

    assert machine.run(scenario)


def test_receive_address_0_is_loaded_from_the_eeprom_after_each_reset():
    """RAL0/RAH0 come from words 0-2 five cycles after power-up and again after CTRL.RST,
    whatever software wrote there; the image is the one loaded at run time."""
    mac = bytes.fromhex("02c0ffee0042")

    async def tb(backend, regs):
        await backend.cycles(5)
        loaded = await regs.read(reg.RAL, 0), await regs.read(reg.RAH, 0)
        await regs.write(reg.RAL, 0x11223344, 0)
        await regs.write(reg.RAH, 0x5566, 0)
        written = await regs.read(reg.RAL, 0), await regs.read(reg.RAH, 0)
        await regs.write(reg.CTRL, reg.CTRL.RST.mask)
        await backend.cycles(300)
        return loaded, written, (await regs.read(reg.RAL, 0), await regs.read(reg.RAH, 0))

    loaded, written, after_reset = run(tb, eeprom=eeprom_image(mac))
    expected = (int.from_bytes(mac[:4], "little"),
                int.from_bytes(mac[4:], "little") | reg.RAH.AV.mask)
    assert loaded == after_reset == expected
    assert written == (0x11223344, 0x5566)


def test_another_mac_address_is_the_same_compiled_model():
    """The EEPROM image is loaded into the model at run time: a MAC address costs no build."""
    mac = bytes.fromhex("02000a0b0c0d")
    lines = []
    default = Machine(console=lambda line: None, backend=COMPILED)
    other = Machine(mac=mac, console=lines.append, backend=COMPILED)
    assert other.backend.model.path == default.backend.model.path
    assert other.backend.model.built_in == 0
    assert other.run_script(["insmod e1000"]) == 0
    assert any(line.endswith("eth0: (PCI:33MHz:32-bit) 02:00:0a:0b:0c:0d") for line in lines)
