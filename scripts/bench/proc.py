#!/usr/bin/env python3
"""Process probes for scripts/bench.sh (stdlib only).

  proc.py cpu PID...             utime+stime summed over the PIDs, in microseconds
  proc.py rss PID...             VmRSS summed over the PIDs, in KiB
  proc.py sample OUT PID...      every 100 ms, write the peak summed VmRSS (KiB) so far to OUT;
                                 runs until killed (SIGTERM/SIGINT), then writes it once more
  proc.py children PID           direct children of PID, one per line (nginx workers)
  proc.py rusage OUT CMD...      run CMD, write its utime+stime (microseconds, from wait4) to OUT,
                                 exit with its status
  proc.py count-cpus LIST         how many CPUs a taskset list such as 0,2-7 names
  proc.py free-port              a free loopback TCP port (bind port 0, then close)
  proc.py wait-port HOST:PORT S  wait up to S seconds until HOST:PORT accepts a connection
"""
import os
import signal
import socket
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_us(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # Fields after the ")" closing comm: state is field 3, utime 14, stime 15.
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) * 1_000_000 // CLK_TCK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children(pid):
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += f.read().split()
        except FileNotFoundError:
            pass
    return out


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "cpu":
        print(sum(cpu_us(p) for p in args))
    elif cmd == "rss":
        print(sum(rss_kib(p) for p in args))
    elif cmd == "children":
        print("\n".join(children(args[0])))
    elif cmd == "rusage":
        out, command = args[0], args[1:]
        child = subprocess.Popen(command)
        _, status, usage = os.wait4(child.pid, 0)
        with open(out, "w") as f:
            f.write(f"{round((usage.ru_utime + usage.ru_stime) * 1e6)}\n")
        sys.exit(os.waitstatus_to_exitcode(status) & 0xFF if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
    elif cmd == "count-cpus":
        n = 0
        for part in args[0].split(","):
            lo, _, hi = part.partition("-")
            n += int(hi or lo) - int(lo) + 1
        print(n)
    elif cmd == "free-port":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            print(s.getsockname()[1])
    elif cmd == "wait-port":
        host, port = args[0].rsplit(":", 1)
        deadline = time.monotonic() + float(args[1])
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=0.5).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit(f"nothing accepts connections on {args[0]} after {args[1]} s")
                time.sleep(0.05)
    elif cmd == "sample":
        out, pids = args[0], args[1:]
        peak = [0]

        def write():
            tmp = out + ".tmp"
            try:
                with open(tmp, "w") as f:
                    f.write(f"{peak[0]}\n")
                os.replace(tmp, out)
            except FileNotFoundError:
                sys.exit(0)  # the bench's temp dir is gone: it has ended

        def stop(*_):
            write()
            sys.exit(0)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while True:
            try:
                peak[0] = max(peak[0], sum(rss_kib(p) for p in pids))
            except (FileNotFoundError, ProcessLookupError):
                pass
            write()
            time.sleep(0.1)
    else:
        sys.exit(f"unknown command {cmd!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv)
