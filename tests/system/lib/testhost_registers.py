#!/usr/bin/env python3
"""testhost_registers.py MONITOR KALLSYMS [SAMPLES]: where a hung test host's
vCPUs are. Asks QEMU's human monitor (a unix socket) for `info registers -a`
SAMPLES times (default 3), a second apart, and prints each vCPU's RIP, CPL
and HLT, with the test host kernel's symbol for a kernel address (KALLSYMS:
its /proc/kallsyms text symbols; it boots with nokaslr, so they hold). A vCPU of the test
host that is running its nested guest shows that guest's registers (TCG
keeps the guest's state while in SVM guest mode): a RIP that System.map does
not name, or user mode, is then the nested guest's. The whole monitor output
follows the summary, for the record (docs/test-host.md, "When it hangs")."""
import bisect
import re
import socket
import sys
import time


def monitor(path, command):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    s.connect(path)
    out = b""
    s.sendall((command + "\n").encode())
    deadline = time.time() + 3
    while time.time() < deadline:
        try:
            data = s.recv(1 << 16)
        except socket.timeout:
            break
        if not data:
            break
        out += data
    s.close()
    text = out.decode(errors="replace").replace("\r", "")
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)  # the monitor's line editing


def load_symbols(path):
    addrs, names = [], []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[1] in "tTwW":
                    addrs.append(int(parts[0], 16))
                    names.append(parts[2])
    except OSError:
        pass
    order = sorted(range(len(addrs)), key=addrs.__getitem__)
    return [addrs[i] for i in order], [names[i] for i in order]


def symbol(addrs, names, rip):
    i = bisect.bisect_right(addrs, rip) - 1
    if i < 0 or rip < 0xFFFFFFFF80000000 or rip - addrs[i] > 0x10000:
        return "not a test host kernel text address (user mode, a module, or the nested guest)"
    return "%s+0x%x" % (names[i], rip - addrs[i])


def main():
    sock, kallsyms = sys.argv[1], sys.argv[2]
    samples = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    addrs, names = load_symbols(kallsyms)
    raw = []
    for n in range(samples):
        text = monitor(sock, "info registers -a")
        raw.append(text)
        print("sample %d:" % (n + 1))
        for cpu, block in re.findall(r"CPU#(\d+)\n(.*?)(?=CPU#\d+\n|\Z)", text, re.S):
            rip = re.search(r"RIP=([0-9a-f]+)", block)
            flags = re.search(r"CPL=(\d).*?HLT=(\d)", block)
            if not rip:
                continue
            value = int(rip.group(1), 16)
            print("  vCPU %s: RIP=%016x CPL=%s HLT=%s  %s" % (
                cpu, value, flags.group(1) if flags else "?",
                flags.group(2) if flags else "?", symbol(addrs, names, value)))
        time.sleep(1)
    print()
    print("the monitor's `info registers -a`, every sample:")
    for text in raw:
        print(text)


if __name__ == "__main__":
    main()
