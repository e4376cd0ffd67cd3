"""The watchdog every command verifier starts runs under, so that its whole process tree dies with
the harness — the leader, a wrapper's children, a daemon that double-forked or called ``setsid()``.

Started by ``verifier.proc.ProcessTree`` as ``python -I -S reaper.py CTL_FD STATUS_FD [--parent
PID] -- ARGV...`` (standard library only, no import of verifier: it starts in about 25 ms, and
nothing in the working directory or the environment can shadow a module it imports), in a
scrubbed environment; the command's own environment is the harness's first message on CTL_FD
(``env N`` and N bytes of NUL-separated ``KEY=VALUE``), so that nothing it declares
(``LD_PRELOAD``, ``PYTHONPATH``…) reaches the watchdog. It:

- makes itself a child subreaper (``PR_SET_CHILD_SUBREAPER``): every orphaned descendant is
  reparented to it rather than to init, so the tree cannot leave it;
- starts ARGV as its only child, in a new session (the *leader*; its pid is the process group of
  the tree), with ``PR_SET_PDEATHSIG`` SIGKILL so the leader dies with the watchdog;
- writes ``pid N`` (or ``error ERRNO MESSAGE`` when ARGV cannot be executed) on STATUS_FD, then
  ``exit CODE`` when the leader exits (negative: killed by that signal) and ``gone`` when no
  descendant is left;
- kills the whole tree — SIGKILL to the leader's process group and to every descendant, again
  until none is left, reaping each — when the harness writes ``kill`` on CTL_FD, or ``term SIG
  GRACE`` (SIG to the group and to every descendant outside it first, SIGKILL after GRACE seconds
  unless all are gone), or when the harness disappears: end of file on CTL_FD (the harness holds
  the only write end, so its exit — even by SIGKILL — closes it), the parent-death signal (with
  ``--parent``), or SIGTERM/SIGINT/SIGHUP to the watchdog itself;
- exits once the tree is gone: after a kill, or by itself when the leader and every descendant
  have exited.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
import time

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
#: Seconds the kill loop keeps trying before it reports what is left (processes in the kernel's
#: uninterruptible sleep cannot die until they wake).
KILL_PATIENCE_S = 20.0
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _prctl(option: int, value: int) -> None:
    prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)
    if prctl is not None:  # Linux; elsewhere only the process group is killed
        prctl(option, value, 0, 0, 0)


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, process group) of a live ``pid``; ``None`` when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2:].split()  # after "pid (comm) ": state ppid pgrp ...
    if len(fields) < 3 or fields[0] in (b"Z", b"X"):
        return None
    return int(fields[1]), int(fields[2])


#: Whether the kernel lists each task's children (CONFIG_PROC_CHILDREN); else the whole process
#: table is read to find the tree.
_CHILDREN_FILES = os.path.exists(f"/proc/self/task/{os.getpid()}/children")


def _children(pid: int) -> list[int]:
    """Children of ``pid`` from ``/proc/PID/task/*/children``."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as handle:
                found.extend(int(c) for c in handle.read().split())
        except OSError:
            continue
    return found


def descendants(root: int) -> dict[int, int]:
    """pid -> process group of every live process below ``root`` (read from ``/proc``)."""
    if not _CHILDREN_FILES:
        return _descendants_by_scan(root)
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        for pid in _children(todo.pop()):
            if pid not in found and (stat := _stat(pid)) is not None:
                found[pid] = stat[1]
                todo.append(pid)
    return found


def _descendants_by_scan(root: int) -> dict[int, int]:
    try:
        entries = os.listdir("/proc")
    except OSError:  # no /proc: only the process group can be reached
        return {}
    parents = {int(e): s for e in entries if e.isdigit() and (s := _stat(int(e)))}
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in parents.items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, int] = {}
    todo = list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        if pid not in found:
            found[pid] = parents[pid][1]
            todo.extend(children.get(pid, ()))
    return found


class Reaper:
    """The watchdog's state: the leader, its exit status, and the pipes to the harness."""

    def __init__(self, ctl: int, status: int) -> None:
        self.ctl = ctl
        self.status = status
        self.leader = 0
        self.leader_code: int | None = None
        self.pending = b""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        os.set_blocking(wake_r, False)
        self.wake = wake_r
        signal.set_wakeup_fd(wake_w)
        for sig in (signal.SIGCHLD, *_STOP_SIGNALS):
            signal.signal(sig, lambda *_: None)  # a handler, so that the wakeup fd is written

    def say(self, line: str) -> None:
        """One status line to the harness (which may be gone)."""
        try:
            os.write(self.status, (line + "\n").encode())
        except OSError:
            pass

    def spawn(self, argv: list[str], env: dict[bytes, bytes]) -> bool:
        """Start ``argv`` with ``env`` as the leader; report its pid, or why it could not be
        executed."""
        errors_r, errors_w = os.pipe()  # close-on-exec: end of file tells exec succeeded
        me = os.getpid()
        pid = os.fork()
        if pid == 0:  # the leader-to-be
            try:
                os.close(errors_r)
                os.setsid()
                _prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
                if os.getppid() != me:
                    os._exit(137)
                signal.set_wakeup_fd(-1)
                for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD, *_STOP_SIGNALS):
                    signal.signal(sig, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, [])
                os.execvpe(argv[0], argv, env)  # PATH searched as the command's env says
            except OSError as exc:
                os.write(errors_w, f"{exc.errno or 0} {exc.strerror or exc}".encode())
            finally:
                os._exit(127)
        os.close(errors_w)
        failure = b""
        while chunk := os.read(errors_r, 4096):
            failure += chunk
        os.close(errors_r)
        if failure:
            os.waitpid(pid, 0)
            self.say("error " + failure.decode(errors="replace").replace("\n", " "))
            return False
        self.leader = pid
        self.say(f"pid {pid}")
        return True

    def reap(self) -> bool:
        """Collect every exited child; False once no child (hence no descendant) is left."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return False
            if pid == 0:
                return True
            if pid == self.leader and self.leader_code is None:
                self.leader_code = (-os.WTERMSIG(status) if os.WIFSIGNALED(status)
                                    else os.WEXITSTATUS(status))
                self.say(f"exit {self.leader_code}")

    def wait_event(self, timeout: float | None, *, harness: bool = True) -> tuple[bool, bool]:
        """Sleep until a signal, or input from the harness (unless ``harness`` is false), or
        ``timeout``; (stop signal seen, harness input ready)."""
        poller = select.poll()  # not select(): the harness's descriptor numbers may exceed 1023
        for fd in (self.ctl, self.wake) if harness else (self.wake,):
            poller.register(fd, select.POLLIN)
        ready = [fd for fd, _ in poller.poll(None if timeout is None else timeout * 1000)]
        stop = False
        if self.wake in ready:
            try:
                stop = any(b in _STOP_SIGNALS for b in os.read(self.wake, 512))
            except BlockingIOError:
                pass
        return stop, self.ctl in ready

    def signal_tree(self, sig: int) -> bool:
        """``sig`` to the leader's group and to every descendant outside it; False when none is left."""
        tree = descendants(os.getpid())
        if self.leader:
            try:
                os.killpg(self.leader, sig)
            except OSError:
                pass
        for pid, group in tree.items():
            if group != self.leader or sig == signal.SIGKILL:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        return bool(tree)

    def kill_tree(self) -> bool:
        """SIGKILL every descendant, again and again, until all are reaped; False if some remain."""
        deadline = time.monotonic() + KILL_PATIENCE_S
        while True:
            self.signal_tree(signal.SIGKILL)
            if not self.reap():
                return True
            if time.monotonic() > deadline:
                return False
            self.wait_event(0.01, harness=False)

    def drain(self, until: float) -> bool:
        """Reap until no descendant is left (True) or ``until`` (monotonic) passes (False)."""
        while self.reap():
            left = until - time.monotonic()
            if left <= 0:
                return False
            self.wait_event(min(left, 0.05), harness=False)
        return True

    def commands(self) -> list[str] | None:
        """Complete lines the harness wrote; ``None`` at end of file (the harness is gone)."""
        try:
            data = os.read(self.ctl, 4096)
        except BlockingIOError:
            return []
        if not data:
            return None
        self.pending += data
        *lines, self.pending = self.pending.split(b"\n")
        return [line.decode(errors="replace").strip() for line in lines]

    def run(self) -> int:
        """Watch until the tree is gone; the exit status of the watchdog (0: nothing left)."""
        while True:
            if self.leader_code is not None and not self.reap():
                self.say("gone")
                return 0
            stop, readable = self.wait_event(None)
            self.reap()
            if stop:
                return self.finish(self.kill_tree())
            if not readable:
                continue
            lines = self.commands()
            if lines is None:
                return self.finish(self.kill_tree())
            for line in lines:
                verb, *args = line.split() or [""]
                if verb == "kill":
                    return self.finish(self.kill_tree())
                if verb == "term" and len(args) == 2:
                    self.signal_tree(int(args[0]))
                    self.drain(time.monotonic() + float(args[1]))
                    return self.finish(self.kill_tree())

    def finish(self, clean: bool) -> int:
        """Report the end of the tree; the watchdog's exit status."""
        self.reap()
        self.say("gone" if clean else "stuck " + " ".join(map(str, descendants(os.getpid()))))
        return 0 if clean else 1


def read_env(ctl: int) -> dict[bytes, bytes] | None:
    """The command's environment, the harness's first message on CTL_FD; ``None`` when the
    harness is gone before it was sent."""
    header = b""
    while not header.endswith(b"\n"):
        byte = os.read(ctl, 1)
        if not byte or len(header) > 32:
            return None
        header += byte
    blob, left = b"", int(header.split()[1])
    while left:
        chunk = os.read(ctl, min(left, 1 << 16))
        if not chunk:
            return None
        blob, left = blob + chunk, left - len(chunk)
    return dict(entry.partition(b"=")[::2] for entry in blob.split(b"\0") if entry)


def main(args: list[str]) -> int:
    """Entry point: parse ``CTL_FD STATUS_FD [--parent PID] -- ARGV...`` and watch."""
    if "--" not in args or len(args) < 4:
        os.write(2, b"usage: reaper.py CTL_FD STATUS_FD [--parent PID] -- ARGV...\n")  # a program of its own
        return 2
    split = args.index("--")
    head, argv = args[:split], args[split + 1:]
    ctl, status = int(head[0]), int(head[1])
    for fd in (ctl, status):
        os.set_inheritable(fd, False)  # the tree must not hold the harness's pipes
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    reaper = Reaper(ctl, status)
    if "--parent" in head:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != int(head[head.index("--parent") + 1]):
            return 1  # the harness died before the signal was armed: start nothing
    env = read_env(ctl)
    if env is None:
        return 1  # the harness is gone: start nothing
    os.set_blocking(ctl, False)
    if not argv or not reaper.spawn(argv, env):
        return 127
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # the leader has them; the watchdog must not keep a pipe open
        os.dup2(devnull, fd)
    os.close(devnull)
    return reaper.run()


if __name__ == "__main__":
    os._exit(main(sys.argv[1:]))  # nothing buffered to flush: skip the interpreter's teardown
