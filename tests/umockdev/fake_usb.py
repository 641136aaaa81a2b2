#!/usr/bin/python3
"""A umockdev testbed with a fake USB modem and a fake Arduino, driven line by line on stdin.

Run it with LD_PRELOAD=libumockdev-preload.so.0 (its uevents are sent through the testbed), as
root (it bind-mounts ptys). Prints one JSON line per event on stdout: first {"event": "ready",
"root": DIR, "arduino": PTY} (run the program under test with UMOCKDEV_DIR=DIR and the same
LD_PRELOAD; PTY is what the Arduino's node opens), then one
{"event": "ok"} or {"event": "error", "message": ...} per command:

    add-modem PTY [N [GPS]]  the Quectel-like modem (2c7c:0125, interface 02, tagged for m2mhal,
                      and with the properties ModemManager's own rules give it: ID_MM_CANDIDATE,
                      ID_MM_PORT_TYPE_AT_PRIMARY) as /dev/ttyUSB2, its node being PTY (a pty of
                      `m2msim modem`); uevent add. Modem N (default 0) is another USB device of
                      the kind, its tty /dev/ttyUSB<2 + 4N>. With GPS (a pty of `m2msim gnss`)
                      also its NMEA port, interface 01 as /dev/ttyUSB<1 + 4N>
                      (ID_MM_PORT_TYPE_GPS, as a udev rule for the modem's GNSS port would say)
    change-modem [N]  uevent change of the modem's tty (as `udevadm trigger` makes one)
    remove-modem [N]  uevent remove, then the modem leaves the testbed
    add-arduino       an untagged Arduino Uno (2341:0043) as /dev/ttyACM0 (its node the pty
                      named in the ready line); uevent add

The ioctls on the modem's node go to a handler (the preload library sends them to the testbed);
the one attached here accepts TIOCEXCL/TIOCNXCL (exclusive open) and runs every other ioctl on
the pty.
"""

import json
import os
import subprocess
import sys

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import GLib, UMockdev  # noqa: E402

TIOCEXCL = 0x540C
TIOCNXCL = 0x540D

USB = "/devices/pci0000:00/0000:00:14.0/usb1"

MODEM = """P: {usb}/{port}
N: bus/usb/001/{busnum:03}
E: SUBSYSTEM=usb
E: DEVTYPE=usb_device
E: ID_VENDOR_ID=2c7c
E: ID_MODEL_ID=0125
A: idVendor=2c7c
A: idProduct=0125

P: {usb}/{port}/{port}:1.2
E: SUBSYSTEM=usb
E: DEVTYPE=usb_interface
A: bInterfaceNumber=02

P: {usb}/{port}/{port}:1.2/{tty}/tty/{tty}
E: SUBSYSTEM=tty
E: DEVNAME=/dev/{tty}
E: ID_VENDOR_ID=2c7c
E: ID_MODEL_ID=0125
E: ID_USB_INTERFACE_NUM=02
E: ID_M2MHAL_CANDIDATE=1
E: ID_M2MHAL_DRIVER=cellular
E: ID_MM_CANDIDATE=1
E: ID_MM_PORT_TYPE_AT_PRIMARY=1
E: DEVLINKS=/dev/serial/by-id/usb-Quectel_EG25-G{serial}-if02-port0
"""

GPS_PORT = """P: {usb}/{port}/{port}:1.1
E: SUBSYSTEM=usb
E: DEVTYPE=usb_interface
A: bInterfaceNumber=01

P: {usb}/{port}/{port}:1.1/{tty}/tty/{tty}
E: SUBSYSTEM=tty
E: DEVNAME=/dev/{tty}
E: ID_VENDOR_ID=2c7c
E: ID_MODEL_ID=0125
E: ID_USB_INTERFACE_NUM=01
E: ID_MM_CANDIDATE=1
E: ID_MM_PORT_TYPE_GPS=1
E: DEVLINKS=/dev/serial/by-id/usb-Quectel_EG25-G{serial}-if01-port0
"""


class Modem:
    """Modem N of the testbed: its USB port, tty name and sysfs paths."""

    def __init__(self, index):
        index = int(index)
        # Modem 0 keeps the names the tests know; the Arduino is on port 1-2.
        self.port = "1-1" if index == 0 else f"1-{index + 2}"
        self.tty = f"ttyUSB{2 + 4 * index}"
        self.description = MODEM.format(usb=USB, port=self.port, busnum=index + 2 + (index > 0),
                                         tty=self.tty, serial="" if index == 0 else f"-{index}")
        self.tty_path = f"/sys{USB}/{self.port}/{self.port}:1.2/{self.tty}/tty/{self.tty}"
        self.usb_path = f"/sys{USB}/{self.port}"
        self.gps_tty = f"ttyUSB{1 + 4 * index}"
        self.gps_description = GPS_PORT.format(usb=USB, port=self.port, tty=self.gps_tty,
                                               serial="" if index == 0 else f"-{index}")

ARDUINO = f"""P: {USB}/1-2
N: bus/usb/001/003
E: SUBSYSTEM=usb
E: DEVTYPE=usb_device
E: ID_VENDOR_ID=2341
E: ID_MODEL_ID=0043
A: idVendor=2341
A: idProduct=0043

P: {USB}/1-2/1-2:1.0
E: SUBSYSTEM=usb
E: DEVTYPE=usb_interface
A: bInterfaceNumber=00

P: {USB}/1-2/1-2:1.0/tty/ttyACM0
E: SUBSYSTEM=tty
E: DEVNAME=/dev/ttyACM0
E: ID_VENDOR_ID=2341
E: ID_MODEL_ID=0043
E: ID_USB_INTERFACE_NUM=00
E: DEVLINKS=/dev/serial/by-id/usb-Arduino_Uno-if00
"""

ARDUINO_TTY = f"/sys{USB}/1-2/1-2:1.0/tty/ttyACM0"


class PtyIoctls(UMockdev.IoctlBase):
    """Accepts TIOCEXCL/TIOCNXCL and runs every other ioctl on the real pty (unhandled, umockdev
    would answer ENOTTY, e.g. to the TCGETS2/TCSETS2 of serialport-rs)."""

    def do_handle_ioctl(self, client):
        if client.get_request() in (TIOCEXCL, TIOCNXCL):
            client.complete(0, 0)
        else:
            result, error = client.execute()
            client.complete(result, error)
        return True


def run_outside_testbed(command):
    """Runs a command without umockdev's path redirection."""
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "UMOCKDEV_DIR")}
    subprocess.run(command, env=env, check=True)


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


class Bench:
    """The testbed and the commands that change it."""

    def __init__(self):
        self.testbed = UMockdev.Testbed.new()
        self.handler = PtyIoctls()
        self.root = self.testbed.get_root_dir()
        self.mounted = []
        # The Arduino's node is a pty nobody serves; a watch on it shows whether it was opened.
        self.arduino_pty, arduino_slave = os.openpty()
        self.arduino_slave = os.ttyname(arduino_slave)

    def add_modem(self, pty, index=0, gps=None):
        modem = Modem(index)
        self.make_node(modem.tty, pty)
        self.testbed.attach_ioctl(f"/dev/{modem.tty}", self.handler)
        if gps is None:
            self.testbed.add_from_string(modem.description)
            return
        self.make_node(modem.gps_tty, gps)
        self.testbed.attach_ioctl(f"/dev/{modem.gps_tty}", self.handler)
        self.testbed.add_from_string(modem.description + "\n" + modem.gps_description)

    def change_modem(self, index=0):
        self.testbed.uevent(Modem(index).tty_path, "change")

    def remove_modem(self, index=0):
        modem = Modem(index)
        self.testbed.uevent(modem.tty_path, "remove")
        self.unbind(os.path.join(self.root, "dev", modem.tty))
        self.testbed.remove_device(modem.usb_path)
        self.testbed.detach_ioctl(f"/dev/{modem.tty}")
        gps = os.path.join(self.root, "dev", modem.gps_tty)
        if gps in self.mounted:
            self.unbind(gps)
            self.testbed.detach_ioctl(f"/dev/{modem.gps_tty}")
        self.remove_dangling_links()

    def remove_dangling_links(self):
        """Removes the /sys/bus and /sys/class links umockdev leaves behind a removed device
        (they would make adding it again fail)."""
        for top in ("bus", "class"):
            for directory, _, files in os.walk(os.path.join(self.root, "sys", top)):
                for name in files:
                    link = os.path.join(directory, name)
                    if os.path.islink(link) and not os.path.exists(link):
                        os.unlink(link)

    def add_arduino(self):
        self.make_node("ttyACM0", self.arduino_slave)
        self.testbed.add_from_string(ARDUINO)

    def make_node(self, name, target):
        """Makes the testbed's /dev/NAME the pty TARGET, by a bind mount (before the device is
        added, as adding it sends the uevent).

        umockdev would make the node a symlink to a pty of its own, but its realpath() wrapper
        overruns its buffer on a link that leads out of the testbed (heap corruption in the
        program under test); a device node made with mknod would reach the host's devpts
        instance, not the container's (EIO). A bind mount stays inside the testbed.
        """
        node = os.path.join(self.root, "dev", name)
        os.makedirs(os.path.dirname(node), exist_ok=True)
        open(node, "w").close()
        run_outside_testbed(["mount", "--bind", target, node])
        self.mounted.append(node)

    def unbind(self, node):
        """Undoes make_node (lazily: the program under test may still hold the pty open)."""
        run_outside_testbed(["umount", "-l", node])
        self.mounted.remove(node)

    def unbind_all(self):
        for node in list(self.mounted):
            self.unbind(node)

    def run(self, line):
        words = line.split()
        if not words:
            return
        command, args = words[0], words[1:]
        actions = {
            "add-modem": self.add_modem,
            "change-modem": self.change_modem,
            "remove-modem": self.remove_modem,
            "add-arduino": self.add_arduino,
        }
        action = actions.get(command)
        if action is None:
            emit("error", message=f"unknown command {command!r}")
            return
        try:
            action(*args)
        except (TypeError, ValueError, GLib.Error, OSError, subprocess.CalledProcessError) as e:
            emit("error", message=f"{command}: {e}")
            return
        emit("ok")


def main():
    bench = Bench()
    loop = GLib.MainLoop()

    def on_stdin(channel, condition):
        line = sys.stdin.readline()
        if not line:
            loop.quit()
            return False
        bench.run(line)
        return True

    GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.PRIORITY_DEFAULT,
                      GLib.IOCondition.IN | GLib.IOCondition.HUP, on_stdin)
    emit("ready", root=bench.root, arduino=bench.arduino_slave)
    try:
        loop.run()
    finally:
        bench.unbind_all()


if __name__ == "__main__":
    main()
