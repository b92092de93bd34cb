"""The seccomp filter, run through a small classic-BPF interpreter, then for
real under bubblewrap."""

from __future__ import annotations

import struct

import pytest

from stockade.sandbox import seccomp as sc

ALLOW = sc.RET_ALLOW
EPERM = sc.RET_ERRNO | sc.EPERM
ENOSYS = sc.RET_ERRNO | sc.ENOSYS


def run_bpf(prog: bytes, *, arch: int, nr: int, args: tuple[int, ...] = ()) -> int:
    """Evaluate a seccomp program on one seccomp_data (little-endian)."""
    full = (list(args) + [0] * 6)[:6]
    data = struct.pack("<iIQ6Q", nr, arch, 0, *full)
    insns = [struct.unpack("=HBBI", prog[i:i + 8]) for i in range(0, len(prog), 8)]
    a = 0
    pc = 0
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        if code == 0x20:
            a = struct.unpack_from("<I", data, k)[0]
        elif code == 0x54:
            a &= k
        elif code == 0x05:
            pc += k
        elif code in (0x15, 0x35, 0x45):
            ok = {0x15: a == k, 0x35: a >= k, 0x45: bool(a & k)}[code]
            pc += jt if ok else jf
        elif code == 0x06:
            return k
        else:  # pragma: no cover - the assembler only emits the codes above
            raise AssertionError(f"unknown opcode {code:#x}")


PROG = sc.build_filter()
ARCHES = [(sc.AUDIT_ARCH_X86_64, sc.SYSCALLS_X86_64), (sc.AUDIT_ARCH_AARCH64, sc.SYSCALLS_AARCH64)]


@pytest.mark.parametrize(("arch", "table"), ARCHES)
@pytest.mark.parametrize("name", ["ptrace", "mount", "umount2", "pivot_root", "bpf", "keyctl",
                                  "add_key", "request_key", "io_uring_setup", "io_uring_enter",
                                  "perf_event_open", "kexec_load", "init_module", "finit_module",
                                  "setns", "process_vm_readv", "userfaultfd"])
def test_dangerous_syscalls_get_eperm(arch: int, table: dict[str, int], name: str) -> None:
    assert run_bpf(PROG, arch=arch, nr=table[name]) == EPERM


@pytest.mark.parametrize(("arch", "table"), ARCHES)
def test_namespace_flags_are_refused_but_plain_clone_works(arch: int, table: dict[str, int]) -> None:
    for call in ("clone", "unshare"):
        assert run_bpf(PROG, arch=arch, nr=table[call], args=(sc.CLONE_NEWUSER,)) == EPERM
        assert run_bpf(PROG, arch=arch, nr=table[call], args=(sc.CLONE_NEWNET | 0x11,)) == EPERM
    # fork()/pthread_create() flags
    assert run_bpf(PROG, arch=arch, nr=table["clone"], args=(0x3D0F00,)) == ALLOW
    # clone3 hides its flags in memory: ENOSYS makes libc fall back to clone
    assert run_bpf(PROG, arch=arch, nr=table["clone3"]) == ENOSYS


@pytest.mark.parametrize(("arch", "table"), ARCHES)
def test_sockets(arch: int, table: dict[str, int]) -> None:
    nr = table["socket"]
    assert run_bpf(PROG, arch=arch, nr=nr, args=(2, 1)) == ALLOW  # AF_INET stream
    assert run_bpf(PROG, arch=arch, nr=nr, args=(10, 2 | 0x80000)) == ALLOW  # udp6 cloexec
    assert run_bpf(PROG, arch=arch, nr=nr, args=(1, 1)) == ALLOW  # unix
    assert run_bpf(PROG, arch=arch, nr=nr, args=(16, 3)) == ALLOW  # netlink raw
    assert run_bpf(PROG, arch=arch, nr=nr, args=(2, 3)) == EPERM  # SOCK_RAW
    assert run_bpf(PROG, arch=arch, nr=nr, args=(10, 3 | 0x800)) == EPERM  # raw, nonblock
    assert run_bpf(PROG, arch=arch, nr=nr, args=(17, 3)) == EPERM  # AF_PACKET
    assert run_bpf(PROG, arch=arch, nr=nr, args=(40, 1)) == EPERM  # AF_VSOCK: not namespaced


@pytest.mark.parametrize(("arch", "table"), ARCHES)
def test_terminal_injection_ioctl(arch: int, table: dict[str, int]) -> None:
    nr = table["ioctl"]
    assert run_bpf(PROG, arch=arch, nr=nr, args=(0, sc.TIOCSTI)) == EPERM
    assert run_bpf(PROG, arch=arch, nr=nr, args=(0, (1 << 32) | sc.TIOCSTI)) == EPERM
    assert run_bpf(PROG, arch=arch, nr=nr, args=(0, 0x5401)) == ALLOW  # TCGETS


def test_other_architectures_and_x32_are_refused() -> None:
    assert run_bpf(PROG, arch=0x40000003, nr=1) == sc.RET_KILL_PROCESS  # i386 via int 0x80
    assert run_bpf(PROG, arch=sc.AUDIT_ARCH_X86_64, nr=sc.X32_SYSCALL_BIT | 101) == EPERM
    assert run_bpf(PROG, arch=sc.AUDIT_ARCH_X86_64, nr=0) == ALLOW  # read


def test_assembler_refuses_out_of_range_jumps() -> None:
    items: list[sc.Item] = [sc.Insn(0x15, jt="far", jf=0, k=1)]
    items += [sc.Insn(0x06, k=0)] * 300 + [sc.Label("far"), sc.Insn(0x06, k=0)]
    with pytest.raises(ValueError, match="out of range"):
        sc.assemble(items)


@pytest.mark.parametrize(("arch", "table"), ARCHES)
def test_no_setuid_or_setgid_file_can_be_made(arch: int, table: dict[str, int]) -> None:
    suid, sgid, plain = 0o4755, 0o2775, 0o755
    for name, at in sc.MODE_ARG.items():
        if name not in table:
            continue  # x86_64 only: chmod, creat, mknod
        for mode, want in ((suid, EPERM), (sgid, EPERM), (plain, ALLOW), (0o1777, ALLOW)):
            args = tuple(mode if i == at else 0 for i in range(at + 1))
            assert run_bpf(PROG, arch=arch, nr=table[name], args=args) == want, (name, oct(mode))
    creat, tmpfile = sc.O_CREAT | 0o1, sc.O_TMPFILE_BIT | 0o200000 | 0o1
    calls = [("openat", 2)] + ([("open", 1)] if "open" in table else [])
    for name, at in calls:
        def call(flags: int, mode: int, at: int = at, name: str = name) -> int:
            args = [0] * (at + 2)
            args[at], args[at + 1] = flags, mode
            return run_bpf(PROG, arch=arch, nr=table[name], args=tuple(args))
        assert call(creat, suid) == EPERM, name
        assert call(tmpfile, sgid) == EPERM, name
        assert call(creat, 0o644) == ALLOW, name
        assert call(0, suid) == ALLOW, name  # no file made: the mode is ignored (garbage)
    # openat2's mode is in memory seccomp cannot read: ENOSYS, callers fall back
    assert run_bpf(PROG, arch=arch, nr=table["openat2"]) == ENOSYS
