# A tiny guest for the live-upgrade state test: prints '1', spins until the
# byte at linear 0x18000 (DS:0x8000) is non-zero, prints '2', resets. A test
# stops it while it spins, carries its state to a fresh machine, sets the
# byte there, and sees only '2': the new machine went on from the saved state.
    .intel_syntax noprefix
    .code16
    .globl _start
_start:
    mov dx, 0x3f8
    mov al, '1'
    out dx, al
spin:
    cmp byte ptr [0x8000], 0
    je spin
    mov al, '2'
    out dx, al
    mov al, 0xfe
    out 0x64, al
1:  hlt
    jmp 1b
