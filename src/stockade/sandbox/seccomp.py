"""A classic-BPF seccomp filter for the sandbox, written out by hand.

bubblewrap loads it (``--seccomp FD``) just before it executes the sandboxed
command, after it has set ``no_new_privs``.  The filter is a deny-list on top of
what namespaces and dropped capabilities already forbid: each entry closes a
whole class of escape even if a future kernel or a misconfiguration hands a
capability back (namespaces, mounts, kernel keyrings, io_uring, BPF, raw and
packet sockets, ptrace, module loading, terminal injection).

Only x86_64 and aarch64 are allowed; any other audit architecture (i386 via
``int 0x80``, x32) is refused outright, because syscall numbers differ per
architecture and an unchecked table is an open door.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: start-up path
if TYPE_CHECKING:
    from typing import Final, NamedTuple
else:
    from stockade.lite import NamedTuple

# --- constants from <linux/audit.h>, <linux/seccomp.h>, <linux/filter.h> ------
AUDIT_ARCH_X86_64: Final = 0xC000003E
AUDIT_ARCH_AARCH64: Final = 0xC00000B7
X32_SYSCALL_BIT: Final = 0x40000000

RET_KILL_PROCESS: Final = 0x80000000
RET_ERRNO: Final = 0x00050000
RET_ALLOW: Final = 0x7FFF0000
EPERM: Final = 1
ENOSYS: Final = 38

_LD_ABS_W: Final = 0x20
_JEQ_K: Final = 0x15
_JGE_K: Final = 0x35
_JSET_K: Final = 0x45
_JA: Final = 0x05
_RET_K: Final = 0x06
_AND_K: Final = 0x54

_OFF_NR: Final = 0
_OFF_ARCH: Final = 4


def _arg_lo(i: int) -> int:
    """Offset of the low 32 bits of syscall argument ``i`` (little-endian ABIs)."""
    return 16 + 8 * i


# Any of these in clone/unshare flags creates a namespace.
CLONE_NEWNS: Final = 0x00020000
CLONE_NEWCGROUP: Final = 0x02000000
CLONE_NEWUTS: Final = 0x04000000
CLONE_NEWIPC: Final = 0x08000000
CLONE_NEWUSER: Final = 0x10000000
CLONE_NEWPID: Final = 0x20000000
CLONE_NEWNET: Final = 0x40000000
CLONE_NEW_ANY: Final = (
    CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC
    | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
)

AF_UNIX: Final = 1
AF_INET: Final = 2
AF_INET6: Final = 10
AF_NETLINK: Final = 16
SOCK_STREAM: Final = 1
SOCK_DGRAM: Final = 2
SOCK_TYPE_MASK: Final = 0xF

TIOCSTI: Final = 0x5412
TIOCLINUX: Final = 0x541C

# A file made setuid or setgid inside stays so on the host, where nosuid no
# longer applies: run as root, a setuid-root copy of python3 in the
# workspace is root for any local user; run as a developer, that
# developer's uid (tests/redteam/test_rt_setuid_file_in_workspace.py).
S_ISUID: Final = 0o4000
S_ISGID: Final = 0o2000
O_CREAT: Final = 0o100  # the same on x86_64 and aarch64
O_TMPFILE_BIT: Final = 0o20000000  # __O_TMPFILE, ditto
# syscall -> index of its mode argument: refused when the mode sets either
# bit (chmod family, and making a regular file by mknod)
MODE_ARG: Final[dict[str, int]] = {
    "chmod": 1, "fchmod": 1, "creat": 1, "mknod": 1,
    "fchmodat": 2, "fchmodat2": 2, "mknodat": 2,
}

# Refused with EPERM whatever their arguments.
DENIED: Final = (
    # tracing / reading other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
    # namespaces and the mount table
    "setns", "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    # kernel attack surface an agent never needs
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "open_by_handle_at", "fanotify_init", "lookup_dcookie", "nfsservctl", "uselib",
    "_sysctl", "iopl", "ioperm", "modify_ldt",
    # host-wide state
    "reboot", "swapon", "swapoff", "syslog", "acct", "quotactl", "quotactl_fd", "vhangup",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
)

# Syscall numbers: x86_64 from <asm/unistd_64.h>, aarch64 from <asm-generic/unistd.h>.
SYSCALLS_X86_64: Final[dict[str, int]] = {
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_getfd": 438,
    "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
    "move_mount": 429, "open_tree": 428, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
    "fspick": 433, "mount_setattr": 442, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "keyctl": 250, "add_key": 248, "request_key": 249,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
    "delete_module": 176, "open_by_handle_at": 304, "fanotify_init": 300,
    "lookup_dcookie": 212, "nfsservctl": 180, "uselib": 134, "_sysctl": 156, "iopl": 172,
    "ioperm": 173, "modify_ldt": 154, "reboot": 169, "swapon": 167, "swapoff": 168,
    "syslog": 103, "acct": 163, "quotactl": 179, "quotactl_fd": 443, "vhangup": 153,
    "settimeofday": 164, "clock_settime": 227, "clock_adjtime": 305, "adjtimex": 159,
    "clone": 56, "clone3": 435, "unshare": 272, "socket": 41, "socketpair": 53, "ioctl": 16,
    "open": 2, "creat": 85, "chmod": 90, "fchmod": 91, "mknod": 133, "openat": 257,
    "mknodat": 259, "fchmodat": 268, "openat2": 437, "fchmodat2": 452,
}
SYSCALLS_AARCH64: Final[dict[str, int]] = {
    "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "pidfd_getfd": 438,
    "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
    "move_mount": 429, "open_tree": 428, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
    "fspick": 433, "mount_setattr": 442, "bpf": 280, "perf_event_open": 241,
    "userfaultfd": 282, "keyctl": 219, "add_key": 217, "request_key": 218,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "kexec_load": 104, "kexec_file_load": 294, "init_module": 105, "finit_module": 273,
    "delete_module": 106, "open_by_handle_at": 265, "fanotify_init": 262,
    "lookup_dcookie": 18, "nfsservctl": 42, "vhangup": 58, "reboot": 142, "swapon": 224,
    "swapoff": 225, "syslog": 116, "acct": 89, "quotactl": 60, "quotactl_fd": 443,
    "settimeofday": 170, "clock_settime": 112, "clock_adjtime": 266, "adjtimex": 171,
    "clone": 220, "clone3": 435, "unshare": 97, "socket": 198, "socketpair": 199, "ioctl": 29,
    "mknodat": 33, "fchmod": 52, "fchmodat": 53, "openat": 56, "openat2": 437,
    "fchmodat2": 452,
}


# NamedTuple, not a dataclass: this module is on `stockade run`'s start-up path,
# and building a dataclass costs ten times as much as building a NamedTuple.
class Insn(NamedTuple):
    """One ``struct sock_filter``; ``jt``/``jf``/``k`` may name a label."""

    code: int
    jt: int | str = 0
    jf: int | str = 0
    k: int | str = 0


class Label(NamedTuple):
    name: str


Item = Insn | Label


def assemble(items: list[Item]) -> bytes:
    """Resolve labels and encode.  Conditional jumps reach at most 255
    instructions ahead; a program that needs more is a bug here, not data."""
    where: dict[str, int] = {}
    pos = 0
    for it in items:
        if isinstance(it, Label):
            if it.name in where:
                raise ValueError(f"duplicate label {it.name}")
            where[it.name] = pos
        else:
            pos += 1
    out = bytearray()
    pos = 0
    for it in items:
        if isinstance(it, Label):
            continue

        def rel(target: int | str, limit: int, pos: int = pos) -> int:
            if isinstance(target, int):
                return target
            off = where[target] - (pos + 1)
            if not 0 <= off <= limit:
                raise ValueError(f"jump to {target} out of range ({off})")
            return off

        # struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}, native byte
        # order (struct.pack("=HBBI"), without importing struct)
        if it.code == _JA:
            jt, jf, k = 0, 0, rel(it.k, 0xFFFFFFFF)
        else:
            jt, jf, k = rel(it.jt, 255), rel(it.jf, 255), it.k if isinstance(it.k, int) else 0
        out += it.code.to_bytes(2, sys.byteorder) + bytes((jt, jf)) + k.to_bytes(4, sys.byteorder)
        pos += 1
    if pos > 4096:  # BPF_MAXINSNS
        raise ValueError("seccomp program too long")
    return bytes(out)


def _ld(off: int) -> Insn:
    return Insn(_LD_ABS_W, k=off)


def _ret(val: int) -> Insn:
    return Insn(_RET_K, k=val)


def _arch_body(p: str, table: dict[str, int]) -> list[Item]:
    """Rules for one architecture; labels are prefixed with ``p``."""
    deny, nosys, allow = f"{p}deny", f"{p}nosys", f"{p}allow"
    body: list[Item] = [_ld(_OFF_NR)]
    for name in DENIED:
        if name in table:  # some only exist on x86_64
            body.append(Insn(_JEQ_K, jt=deny, jf=0, k=table[name]))
    body += [
        # clone3 passes flags in memory seccomp cannot read: ENOSYS makes libc
        # fall back to clone(), whose flags we can check.
        Insn(_JEQ_K, jt=nosys, jf=0, k=table["clone3"]),
        Insn(_JEQ_K, jt=f"{p}clone", jf=0, k=table["clone"]),
        Insn(_JEQ_K, jt=f"{p}clone", jf=0, k=table["unshare"]),
        Insn(_JEQ_K, jt=f"{p}socket", jf=0, k=table["socket"]),
        Insn(_JEQ_K, jt=f"{p}socket", jf=0, k=table["socketpair"]),
        Insn(_JEQ_K, jt=f"{p}ioctl", jf=0, k=table["ioctl"]),
        *(Insn(_JEQ_K, jt=f"{p}mode{MODE_ARG[name]}", jf=0, k=table[name])
          for name in MODE_ARG if name in table),
        *((Insn(_JEQ_K, jt=f"{p}open", jf=0, k=table["open"]),) if "open" in table else ()),
        Insn(_JEQ_K, jt=f"{p}openat", jf=0, k=table["openat"]),
        # openat2 passes its mode in memory seccomp cannot read: ENOSYS makes
        # callers fall back to openat
        Insn(_JEQ_K, jt=nosys, jf=0, k=table["openat2"]),
        _ret(RET_ALLOW),
        Label(f"{p}clone"),  # no new namespace of any kind (user namespaces above all)
        _ld(_arg_lo(0)),
        Insn(_JSET_K, jt=deny, jf=0, k=CLONE_NEW_ANY),
        _ret(RET_ALLOW),
        Label(f"{p}socket"),  # only unix, netlink, and TCP/UDP over IPv4/IPv6
        _ld(_arg_lo(0)),
        Insn(_JEQ_K, jt=allow, jf=0, k=AF_UNIX),
        Insn(_JEQ_K, jt=allow, jf=0, k=AF_NETLINK),
        Insn(_JEQ_K, jt=f"{p}inet", jf=0, k=AF_INET),
        Insn(_JEQ_K, jt=f"{p}inet", jf=0, k=AF_INET6),
        _ret(RET_ERRNO | EPERM),  # AF_PACKET, AF_VSOCK (not namespaced!), AF_ALG ...
        Label(f"{p}inet"),
        _ld(_arg_lo(1)),
        Insn(_AND_K, k=SOCK_TYPE_MASK),
        Insn(_JEQ_K, jt=allow, jf=0, k=SOCK_STREAM),
        Insn(_JEQ_K, jt=allow, jf=0, k=SOCK_DGRAM),
        _ret(RET_ERRNO | EPERM),  # SOCK_RAW, SOCK_PACKET
        Label(f"{p}ioctl"),  # the kernel truncates the request to 32 bits too
        _ld(_arg_lo(1)),
        Insn(_JEQ_K, jt=deny, jf=0, k=TIOCSTI),
        Insn(_JEQ_K, jt=deny, jf=0, k=TIOCLINUX),
        _ret(RET_ALLOW),
        # no setuid or setgid file: open/openat only when they create one
        # (the mode argument is garbage otherwise)
        Label(f"{p}open"),
        _ld(_arg_lo(1)),
        Insn(_JSET_K, jt=f"{p}mode2", jf=allow, k=O_CREAT | O_TMPFILE_BIT),
        Label(f"{p}openat"),
        _ld(_arg_lo(2)),
        Insn(_JSET_K, jt=f"{p}mode3", jf=allow, k=O_CREAT | O_TMPFILE_BIT),
        Label(f"{p}mode1"),
        _ld(_arg_lo(1)),
        Insn(_JSET_K, jt=deny, jf=allow, k=S_ISUID | S_ISGID),
        Label(f"{p}mode2"),
        _ld(_arg_lo(2)),
        Insn(_JSET_K, jt=deny, jf=allow, k=S_ISUID | S_ISGID),
        Label(f"{p}mode3"),
        _ld(_arg_lo(3)),
        Insn(_JSET_K, jt=deny, jf=allow, k=S_ISUID | S_ISGID),
        Label(deny),
        _ret(RET_ERRNO | EPERM),
        Label(nosys),
        _ret(RET_ERRNO | ENOSYS),
        Label(allow),
        _ret(RET_ALLOW),
    ]
    return body


def build_filter() -> bytes:
    """The filter as bubblewrap's ``--seccomp`` expects it: packed sock_filter."""
    items: list[Item] = [
        _ld(_OFF_ARCH),
        Insn(_JEQ_K, jt=0, jf=1, k=AUDIT_ARCH_X86_64),
        Insn(_JA, k="x86"),
        Insn(_JEQ_K, jt=0, jf=1, k=AUDIT_ARCH_AARCH64),
        Insn(_JA, k="arm"),
        _ret(RET_KILL_PROCESS),
        Label("x86"),
        _ld(_OFF_NR),
        # x32 ABI numbers alias x86_64 ones with this bit set: refuse them all.
        Insn(_JGE_K, jt=0, jf=1, k=X32_SYSCALL_BIT),
        _ret(RET_ERRNO | EPERM),
        *_arch_body("x86_", SYSCALLS_X86_64),
        Label("arm"),
        *_arch_body("arm_", SYSCALLS_AARCH64),
    ]
    return assemble(items)


__all__ = ["CLONE_NEW_ANY", "DENIED", "Insn", "Label", "assemble", "build_filter"]
