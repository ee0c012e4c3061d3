# A guest that runs until stopped, for the takeover tests: prints 'A' once,
# then counts at linear 0x18000 (DS:0x8000) and prints '.' every 2^12
# counts. A guest that was restarted would print a second 'A'; one that
# stopped would print no more dots.
    .intel_syntax noprefix
    .code16
    .globl _start
_start:
    mov dx, 0x3f8
    mov al, 'A'
    out dx, al
    mov al, '.'
count:
    inc dword ptr [0x8000]
    test dword ptr [0x8000], 0xfff
    jnz count
    out dx, al
    jmp count
