# A tiny guest for hypervisor_kvm_tests (kvm_hvfilt_test.cc): into 32-bit
# protected mode, then the hvfilt function at 00:05.0: its config space
# through ports 0xcf8/0xcfc, its registers at BAR2, a byte into the region at
# BAR0, and two doorbell kicks. Results go to RESULTS for the test; then an
# i8042 reset. Loaded at 0x10000 (layout.h, real-mode payloads), linked at 0.
    .intel_syntax noprefix
    .set LOAD, 0x10000
    .set RESULTS, 0x6000
    .set CONFIG, 0x80002800        # bus 0, device 5, function 0
    .set REG_DOORBELL, 0x000
    .set REG_REGION_SIZE_LO, 0x004
    .set REG_ABI_VERSION, 0x00c
    .set REG_MAGIC, 0x010

    .code16
    .globl _start
_start:
    cli
    lgdt [gdt_descriptor]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
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

    # [0] vendor/device, [4] BAR0 (low dword), [8] BAR2
    mov eax, CONFIG
    call config_read
    mov [RESULTS + 0], eax
    mov eax, CONFIG + 0x10
    call config_read
    mov [RESULTS + 4], eax
    and eax, 0xfffffff0
    mov edi, eax                   # edi: the region
    mov eax, CONFIG + 0x18
    call config_read
    mov [RESULTS + 8], eax
    and eax, 0xfffffff0
    mov esi, eax                   # esi: the registers

    # [12] magic, [16] region size, [20] ABI version
    mov eax, [esi + REG_MAGIC]
    mov [RESULTS + 12], eax
    mov eax, [esi + REG_REGION_SIZE_LO]
    mov [RESULTS + 16], eax
    mov eax, [esi + REG_ABI_VERSION]
    mov [RESULTS + 20], eax

    # A byte into the region, read back: [24]
    mov byte ptr [edi + 0x100], 0x5a
    movzx eax, byte ptr [edi + 0x100]
    mov [RESULTS + 24], eax

    # Two kicks: the ioeventfd counts them in the kernel.
    mov dword ptr [esi + REG_DOORBELL], 1
    mov dword ptr [esi + REG_DOORBELL], 2

    # [28] command and status
    mov eax, CONFIG + 0x04
    call config_read
    mov [RESULTS + 28], eax

    # [32] the marker that the payload ran to its end
    mov dword ptr [RESULTS + 32], 0x656e6f64
    mov al, 0xfe
    out 0x64, al
1:  hlt
    jmp 1b

# eax: a config address -> eax: the dword there
config_read:
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    ret

    .p2align 3
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff   # 0x08: code, flat 4 GiB, 32-bit
    .quad 0x00cf92000000ffff   # 0x10: data, flat 4 GiB
gdt_descriptor:
    .word gdt_descriptor - gdt - 1
    .long LOAD + gdt
