# A tiny guest for hypervisor_kvm_tests: from real mode into 32-bit protected
# mode (flat segments), then PCI configuration space through ports
# 0xcf8/0xcfc and hvchan's registers and shared memory at their fixed BARs.
# Results go to kResults (0x6000) for the test to read; then an i8042 reset.
# Loaded at 0x10000 and entered at 0x1000:0000 (layout.h, real-mode payloads);
# linked at 0, so linear addresses are written as LOAD + label.
    .intel_syntax noprefix
    .set LOAD, 0x10000
    .set RESULTS, 0x6000
    .set BAR0, 0xc0000000
    .set BAR2, 0xc4000000
    .set CALL_BLOCK, BAR2
    .set CALL_IN, BAR2 + 0x10000
    .set CALL_OUT, BAR2 + 0x50000
    .set REG_MAGIC, 0x000
    .set REG_CALL, 0x01c
    .set REG_STATUS, 0x018

    .code16
    .globl _start
_start:
    cli
    lgdt [gdt_descriptor]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    # ljmp 0x08:(LOAD + protected)
    .byte 0x66, 0xea
    .long LOAD + protected
    .word 0x08

    .code32
protected:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x9000

    # [0] vendor/device of 00:00.0, [4] of 00:02.0, [8] BAR0 of 00:02.0
    mov dx, 0xcf8
    mov eax, 0x80000000
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    mov [RESULTS + 0], eax
    mov dx, 0xcf8
    mov eax, 0x80001000
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    mov [RESULTS + 4], eax
    mov dx, 0xcf8
    mov eax, 0x80001010
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    mov [RESULTS + 8], eax

    # [12] hvchan MAGIC
    mov eax, [BAR0 + REG_MAGIC]
    mov [RESULTS + 12], eax

    # An echo of "hvkit!!!" from the input area to output offset 8:
    # [16] status, [20] ret0, [24] the first 4 bytes that came out
    mov dword ptr [CALL_IN], 0x696b7668
    mov dword ptr [CALL_IN + 4], 0x21212174
    mov dword ptr [CALL_BLOCK + 16], 0
    mov dword ptr [CALL_BLOCK + 20], 0
    mov dword ptr [CALL_BLOCK + 24], 8
    mov dword ptr [CALL_BLOCK + 28], 0
    mov dword ptr [CALL_BLOCK + 32], 8
    mov dword ptr [CALL_BLOCK + 36], 0
    mov dword ptr [BAR0 + REG_CALL], 1
    mov eax, [CALL_BLOCK + 4]
    mov [RESULTS + 16], eax
    mov eax, [CALL_BLOCK + 48]
    mov [RESULTS + 20], eax
    mov eax, [CALL_OUT + 8]
    mov [RESULTS + 24], eax

    # A hostile echo: length 0xffffffff_ffffffff. [28] status from the call
    # block, [32] the status register
    mov dword ptr [CALL_BLOCK + 24], 0xffffffff
    mov dword ptr [CALL_BLOCK + 28], 0xffffffff
    mov dword ptr [BAR0 + REG_CALL], 1
    mov eax, [CALL_BLOCK + 4]
    mov [RESULTS + 28], eax
    mov eax, [BAR0 + REG_STATUS]
    mov [RESULTS + 32], eax

    # [36] a call number nobody knows
    mov dword ptr [BAR0 + REG_CALL], 0x77
    mov eax, [CALL_BLOCK + 4]
    mov [RESULTS + 36], eax

    # [40] the marker that the payload ran to its end
    mov dword ptr [RESULTS + 40], 0x656e6f64

    mov al, 0xfe
    out 0x64, al
1:  hlt
    jmp 1b

    .p2align 3
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff   # 0x08: code, flat 4 GiB, 32-bit
    .quad 0x00cf92000000ffff   # 0x10: data, flat 4 GiB
gdt_descriptor:
    .word gdt_descriptor - gdt - 1
    .long LOAD + gdt
