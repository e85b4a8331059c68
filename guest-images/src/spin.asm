; spin: a CPU-bound guest that runs until it is stopped. Its loop keeps a
; running sum; every `report=N` iterations (default 1000000) it prints
; `spin K sum=XXXXXXXX`. With `reports=R` it passes after R lines (0, the
; default, runs forever). The hypervisor's fairness and snapshot tests use it.
%include "lib/kernel.inc"
%include "lib/cmdline.inc"

[section .data]
report:         dd 1000000
reports:        dd 0

[section .rodata]
key_report:     db "report=", 0
key_reports:    db "reports=", 0

[section .text]
main:
        mov esi, key_report
        call cmdline_uint
        jc .no_report
        test eax, eax
        jz .no_report
        mov [report], eax
.no_report:
        mov esi, key_reports
        call cmdline_uint
        jc .no_reports
        mov [reports], eax
.no_reports:
        xor ebx, ebx                    ; lines printed
        xor edi, edi                    ; iteration count
        xor ebp, ebp                    ; the running sum
.line:  mov ecx, [report]
.loop:  inc edi
        add ebp, edi
        rol ebp, 1
        dec ecx
        jnz .loop
        inc ebx
        PUTS "spin "
        PDEC ebx
        PUTS " sum="
        PHEX ebp
        NL
        mov eax, [reports]
        test eax, eax
        jz .line
        cmp ebx, eax
        jb .line
        ret
