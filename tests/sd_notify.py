#!/usr/bin/python3
"""sd_notify.py - mailauthd's sd_notify(3) messages, as systemd would get them.

usage: sd_notify.py MAILAUTHD DIR [USERID]

Listens on a unix datagram socket DIR/notify.sock (what systemd passes in
NOTIFY_SOCKET), runs MAILAUTHD -f with a configuration in DIR (unix milter
socket DIR/run/mailauthd.sock; UserID USERID when given, i.e. as root), and
checks:

  ready-after-socket    the first message is READY=1 with a STATUS=, and
                        at that moment the milter socket answers an option
                        negotiation (READY did not come early)
  ready-after-drop      (USERID only) at READY=1 every uid of the process
                        is USERID's
  reload-notify         SIGHUP: RELOADING=1 with MONOTONIC_USEC= (now, by
                        CLOCK_MONOTONIC), then READY=1, STATUS= "reloaded"
  reload-failed-notify  SIGHUP with a broken configuration: RELOADING=1,
                        then READY=1 whose STATUS= says it failed; the
                        daemon still answers on its socket
  stopping-notify       SIGTERM: STOPPING=1
  sigterm-exit          then the daemon exits with status 0
  no-notify-socket      NOTIFY_SOCKET naming no socket: the daemon still
                        starts, serves and stops with status 0

Prints "PASS name" / "FAIL name: why" per case. Every wait is bounded.
"""
import os
import pwd
import signal
import socket
import struct
import subprocess
import sys
import time

WAIT = 20               # seconds, every wait but the stop
STOP_WAIT = 45          # mailauthd's graceful stop takes up to 30 s


def result(name, why=None):
    if why is None:
        print("PASS " + name)
    else:
        print("FAIL %s: %s" % (name, why))
    sys.stdout.flush()


def optneg(path):
    """Option negotiation on the milter socket; None if answered, else why."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(path)
            body = b"O" + struct.pack(">III", 6, 0x1ff, 0)
            s.sendall(struct.pack(">I", len(body)) + body)
            hdr = s.recv(5)
            if len(hdr) < 5 or hdr[4:5] != b"O":
                return "no SMFIC_OPTNEG reply (got %r)" % hdr
    except OSError as e:
        return "milter socket: %s" % e
    return None


def parse(msg):
    """'A=1\\nB=x' -> {'A': '1', 'B': 'x'}"""
    out = {}
    for line in msg.decode("utf-8", "replace").split("\n"):
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


class Notify:
    def __init__(self, path):
        self.path = path
        if os.path.exists(path):
            os.unlink(path)
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(path)
        os.chmod(path, 0o777)     # the daemon sends after dropping to UserID

    def next(self, timeout=WAIT):
        """The next message as a dict, or None after timeout seconds."""
        self.s.settimeout(timeout)
        try:
            return parse(self.s.recv(4096))
        except socket.timeout:
            return None

    def until(self, key, timeout=WAIT):
        """Messages up to the first with key; (that one, all before it)."""
        seen = []
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = self.next(max(0.1, end - time.monotonic()))
            if m is None:
                break
            if key in m:
                return m, seen
            seen.append(m)
        return None, seen


def write_conf(path, sock, userid, broken=False):
    with open(path, "w") as f:
        f.write("Socket unix:%s\n" % sock)
        f.write("AuthservID notify.test\nDNSOffline yes\nReportHistory no\n")
        if userid:
            f.write("UserID %s\n" % userid)
        if broken:
            f.write("NoSuchKey yes\n")


def uids(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    return []


def stop(proc, timeout=STOP_WAIT):
    """SIGTERM and a bounded wait; the exit status or None."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def start(mailauthd, conf, notify_path, log):
    env = dict(os.environ)
    env["NOTIFY_SOCKET"] = notify_path
    return subprocess.Popen([mailauthd, "-f", "-c", conf], env=env,
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: sd_notify.py MAILAUTHD DIR [USERID]")
    mailauthd, d = sys.argv[1], sys.argv[2]
    userid = sys.argv[3] if len(sys.argv) == 4 else None
    os.makedirs(d + "/run", mode=0o755, exist_ok=True)
    sock = d + "/run/mailauthd.sock"
    conf = d + "/mailauthd.conf"
    write_conf(conf, sock, userid)
    notify = Notify(d + "/notify.sock")
    log = open(d + "/notify-mailauthd.log", "w")
    proc = start(mailauthd, conf, notify.path, log)
    try:
        run(proc, notify, sock, conf, userid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    # no-notify-socket: a NOTIFY_SOCKET that leads nowhere is harmless
    write_conf(conf, sock, userid)
    proc = start(mailauthd, conf, d + "/no-such-dir/notify.sock", log)
    why = None
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        if proc.poll() is not None:
            why = "exited with status %d at start" % proc.returncode
            break
        if os.path.exists(sock) and optneg(sock) is None:
            break
        time.sleep(0.1)
    else:
        why = "not serving after %d s" % WAIT
    rc = stop(proc)
    if why is None and rc != 0:
        why = "exit status %s after SIGTERM" % rc
    result("no-notify-socket", why)


def run(proc, notify, sock, conf, userid):
    # ready-after-socket, ready-after-drop
    m = notify.next()
    if m is None:
        result("ready-after-socket", "no message in %d s (exit %s)"
               % (WAIT, proc.poll()))
        return
    if m.get("READY") != "1" or not m.get("STATUS"):
        result("ready-after-socket", "first message %r, want READY=1 "
               "and STATUS=" % m)
    else:
        why = optneg(sock)
        result("ready-after-socket", why and "at READY=1: " + why)
    if userid:
        want = pwd.getpwnam(userid.split(":")[0]).pw_uid
        try:
            got = uids(proc.pid)
            why = None if got == [want] * 4 else \
                "uids %s at READY=1, want %d" % (got, want)
        except OSError as e:
            why = str(e)
        result("ready-after-drop", why)

    # reload-notify
    proc.send_signal(signal.SIGHUP)
    now_us = time.monotonic() * 1e6
    m, _ = notify.until("RELOADING")
    if m is None:
        result("reload-notify", "no RELOADING=1 after SIGHUP")
    else:
        try:
            delta = abs(int(m.get("MONOTONIC_USEC", "")) - now_us)
        except ValueError:
            delta = None
        r, _ = notify.until("READY")
        if delta is None or delta > WAIT * 1e6:
            result("reload-notify", "MONOTONIC_USEC %r, want about %d"
                   % (m.get("MONOTONIC_USEC"), now_us))
        elif r is None:
            result("reload-notify", "no READY=1 after RELOADING=1")
        elif "reloaded" not in r.get("STATUS", ""):
            result("reload-notify", "STATUS=%r, want it to say reloaded"
                   % r.get("STATUS"))
        else:
            result("reload-notify")

    # reload-failed-notify
    write_conf(conf, sock, userid, broken=True)
    proc.send_signal(signal.SIGHUP)
    m, _ = notify.until("RELOADING")
    r, _ = notify.until("READY") if m is not None else (None, [])
    if m is None:
        result("reload-failed-notify", "no RELOADING=1 after SIGHUP")
    elif r is None:
        result("reload-failed-notify", "no READY=1 after RELOADING=1")
    elif "fail" not in r.get("STATUS", ""):
        result("reload-failed-notify", "STATUS=%r, want it to say failed"
               % r.get("STATUS"))
    else:
        why = optneg(sock)
        result("reload-failed-notify", why and "after the reload: " + why)

    # stopping-notify, sigterm-exit
    proc.send_signal(signal.SIGTERM)
    m, _ = notify.until("STOPPING")
    result("stopping-notify", None if m is not None else
           "no STOPPING=1 after SIGTERM")
    rc = stop(proc)
    result("sigterm-exit", None if rc == 0 else "exit status %s" % rc)


if __name__ == "__main__":
    main()
