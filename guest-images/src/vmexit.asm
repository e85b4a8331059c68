; vmexit: the cost of each kind of exit, in the manner of kvm-unit-tests'
; vmexit test. Each kind runs `iterations` times (command line
; `iterations=N`, default 10000) between two RDTSC reads and prints
;   # <kind> cycles/iter=N
; (comment lines: timing is not compared). The last line is `vmexit done`.
; Kinds: an empty loop (the baseline), OUT and IN on an unused port (0x520;
; 0x510 is QEMU's fw_cfg), REP OUTSB of 64 bytes, CPUID, MMIO read and write
; above RAM (0xFEBF0000), and with paging on: a write to a live page-table
; entry, a CR3 reload, and a CR3 reload followed by touching 16 pages.
%include "lib/kernel.inc"
%include "lib/cmdline.inc"
%include "lib/paging.inc"

PORT            equ 0x520
MMIO            equ 0xFEBF0000
DEFAULT_ITERS   equ 10000

[section .bss]
alignb 4
iterations:     resd 1
tsc_start:      resd 2
cycles_per_iter: resd 1
outs_buffer:    resb 64
alignb 4096
touch_pages:    resb 16 * 4096

; KIND label  ...body...  END_KIND : a routine running the body [iterations]
; times with EBP as the counter (the body may use every other register)
%macro KIND 1
%1:
        mov ebp, [iterations]
  %push kind
%$loop:
%endmacro
%macro END_KIND 0
        dec ebp
        jnz %$loop
        ret
  %pop
%endmacro

; TIME "name", routine
%macro TIME 2
[section .rodata]
%%name: db %1, 0
__?SECT?__
        mov esi, %%name
        mov ebx, %2
        call time_kind
%endmacro

[section .text]
main:
        mov eax, DEFAULT_ITERS
        mov esi, key_iterations
        call cmdline_uint
        test eax, eax
        jnz .set
        inc eax
.set:   mov [iterations], eax
        PUTS "iterations="
        PDEC [iterations]
        NL
        TIME "empty", k_empty
        TIME "out", k_out
        TIME "in", k_in
        TIME "rep-outsb-64", k_outsb
        TIME "cpuid", k_cpuid
        TIME "mmio-read", k_mmio_read
        TIME "mmio-write", k_mmio_write
        call paging_identity
        call paging_on
        TIME "pte-write", k_pte_write
        TIME "cr3-reload", k_cr3
        TIME "cr3-reload+16-touches", k_cr3_touch
        call paging_off
        PUTSLN "vmexit done"
        ret

; time_kind: ESI = name, EBX = routine; prints "# name cycles/iter=N"
time_kind:
        pushad
        rdtsc
        mov [tsc_start], eax
        mov [tsc_start + 4], edx
        call ebx
        rdtsc
        sub eax, [tsc_start]
        sbb edx, [tsc_start + 4]
        div dword [iterations]
        mov [cycles_per_iter], eax
        popad
        PUTS "# "
        call puts
        PUTS " cycles/iter="
        PDEC [cycles_per_iter]
        NL
        ret

KIND k_empty
END_KIND

KIND k_out
        mov dx, PORT
        out dx, al
END_KIND

KIND k_in
        mov dx, PORT
        in al, dx
END_KIND

KIND k_outsb
        mov esi, outs_buffer
        mov ecx, 64
        mov dx, PORT
        rep outsb
END_KIND

KIND k_cpuid
        xor eax, eax
        cpuid
END_KIND

KIND k_mmio_read
        mov eax, [MMIO]
END_KIND

KIND k_mmio_write
        mov [MMIO], eax
END_KIND

KIND k_pte_write
        mov eax, [page_tables + 0x100 * 4]      ; a live PTE, written unchanged
        mov [page_tables + 0x100 * 4], eax
END_KIND

KIND k_cr3
        mov eax, cr3
        mov cr3, eax
END_KIND

KIND k_cr3_touch
        mov eax, cr3
        mov cr3, eax
        mov esi, touch_pages
        mov ecx, 16
.touch: mov eax, [esi]
        add esi, 4096
        loop .touch
END_KIND

[section .rodata]
key_iterations: db "iterations=", 0
