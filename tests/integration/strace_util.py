"""strace attached to a running sluice, for the tests that count system calls per request or
per tunnel (issue 12)."""

import os
import re
import signal
import subprocess
import time


def all_threads_traced(pid):
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            if not any(l.startswith("TracerPid:") and l.split()[1] != "0" for l in f):
                return False
    return True


class Trace:
    """with Trace(pid, "epoll_ctl,recvfrom", path): ... traces every thread of pid for the
    block; then lines() gives strace's lines and calls() the count per system call."""

    def __init__(self, pid, syscalls, path):
        self.pid, self.syscalls, self.path = pid, syscalls, path

    def __enter__(self):
        self.tracer = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=" + self.syscalls,
                                        "-o", self.path, "-p", str(self.pid)],
                                       stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while not all_threads_traced(self.pid):
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise AssertionError("strace did not attach")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        time.sleep(0.1)  # the last log batch, the last close
        self.tracer.send_signal(signal.SIGINT)
        self.tracer.wait(5)

    def lines(self):
        with open(self.path) as f:
            return f.readlines()

    def calls(self, errors_only=None):
        """System call name -> count; with errors_only="EAGAIN", only the calls that failed so."""
        counts = {}
        for line in self.lines():
            m = re.match(r"\d+\s+(\w+)\(", line)
            if not m or (errors_only and ("= -1 " + errors_only) not in line):
                continue
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        return counts
