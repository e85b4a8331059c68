; pmode: protected-mode segmentation basics.
;   SGDT/SIDT, far jumps (direct, indirect, into a code segment with a base),
;   a far call into a 16-bit code segment and back, expand-down data segments,
;   far transfers beyond a CS limit and bad selector loads (#GP / #NP + error codes),
;   LAR / LSL / VERR / VERW on a set of selectors.
%include "lib/kernel.inc"

SEL_ALIAS       equ SEL_FREE + 0x00     ; flat code, another selector
SEL_BASED       equ SEL_FREE + 0x08     ; code with base 0x100000
SEL_CODE16      equ SEL_FREE + 0x10     ; 16-bit code, base = code16
SEL_DATA16      equ SEL_FREE + 0x18     ; 16-bit data, base = buf16
SEL_EXPDOWN     equ SEL_FREE + 0x20     ; expand-down, B=1, limit 0xFFFF
SEL_EXPDOWN16   equ SEL_FREE + 0x28     ; expand-down, B=0, limit 0x0FFF, base buf-0xF000
SEL_SMALL       equ SEL_FREE + 0x30     ; data, limit 0xFFF (for LSL)
SEL_XONLY       equ SEL_FREE + 0x38     ; execute-only code
SEL_GATE        equ SEL_FREE + 0x40     ; call gate
SEL_ABSENT      equ SEL_FREE + 0x48     ; not-present data
BASED_BASE      equ 0x100000

[section .bss]
alignb 16
buf16:          resb 0x100
buf:            resb 0x2000
farptr:         resd 2
desc_table:     resb 8

[section .text]
main:
        SET_DESC SEL_ALIAS, 0, 0xFFFFF, ACC_CODE0, FLG_32G
        SET_DESC SEL_BASED, BASED_BASE, 0xFFFFF, ACC_CODE0, FLG_32G
        SET_DESC SEL_CODE16, code16, 0xFFFF, ACC_CODE0, FLG_16
        SET_DESC SEL_DATA16, buf16, 0xFFFF, ACC_DATA0, FLG_16
        SET_DESC SEL_EXPDOWN, buf - 0x10000, 0xFFFF, 0x96, FLG_32
        SET_DESC SEL_EXPDOWN16, buf - 0xF000, 0x0FFF, 0x96, FLG_16
        SET_DESC SEL_SMALL, buf, 0xFFF, ACC_DATA0, FLG_32
        SET_DESC SEL_XONLY, 0, 0xFFFFF, 0x98, FLG_32G
        SET_GDT_GATE SEL_GATE, 0, SEL_CODE0, 0x8C, 0
        SET_DESC SEL_ABSENT, 0, 0xFFFFF, 0x12, FLG_32G
        call test_tables
        call test_far_jumps
        call test_code16
        call test_expand_down
        call test_limits
        call test_selector_loads
        call test_access_queries
        ret

; --- SGDT / SIDT ---------------------------------------------------------
test_tables:
        sgdt [desc_table]
        PUTS "sgdt limit="
        PHEX16 [desc_table]
        mov eax, [desc_table + 2]
        CHECK eax, gdt, "sgdt base"
        PUTSLN " base=gdt"
        sidt [desc_table]
        PUTS "sidt limit="
        PHEX16 [desc_table]
        mov eax, [desc_table + 2]
        CHECK eax, idt, "sidt base"
        PUTSLN " base=idt"
        str ax
        PUTS "str="
        PHEX16 ax
        NL
        ret

; --- far jumps -------------------------------------------------------------
test_far_jumps:
        jmp SEL_ALIAS:.in_alias                 ; direct ptr16:32
.in_alias:
        mov ax, cs
        PUTS "far jmp direct: cs="
        PHEX16 ax
        NL
        mov dword [farptr], .back0
        mov word [farptr + 4], SEL_CODE0
        jmp far [farptr]                        ; indirect m16:32
.back0: mov ax, cs
        PUTS "far jmp indirect: cs="
        PHEX16 ax
        NL
        mov eax, .in_based - BASED_BASE
        mov [farptr], eax
        mov word [farptr + 4], SEL_BASED
        jmp far [farptr]
.in_based:                                      ; EIP is now an offset from 0x100000
        call .here
.here:  pop eax
        add eax, BASED_BASE
        CHECK eax, .here, "eip in based segment"
        mov ax, cs
        PUTS "far jmp based: cs="
        PHEX16 ax
        PUTSLN " eip=linear-0x100000"
        jmp SEL_CODE0:.home
.home:  ret

; --- 16-bit code segment ---------------------------------------------------
test_code16:
        mov eax, 0xAAAA5555
        mov edx, 0x77770000
        call SEL_CODE16:(code16_entry - code16)
        mov ax, cs                              ; (EAX high half from 16-bit code kept)
        PUTS "code16: returned cs="
        PHEX16 ax
        PUTS " dx="
        PHEX edx
        PUTS " mem="
        PHEX16 [buf16 + 0x30]
        NL
        ret

code16:
bits 16
code16_entry:
        push ds
        mov ax, SEL_DATA16
        mov ds, ax
        mov bx, 0x10
        mov si, 0x20
        mov word [bx + si], 0xBEEF              ; buf16 + 0x30
        mov ax, [bx + si]
        add ax, 0x1111
        mov cx, 10
        mov dx, 0
.sum:   add dx, cx
        loop .sum                               ; 16-bit address size: counts CX
        add dx, ax                              ; 55 + 0xD000
        pop ds
        o32 retf
bits 32

; --- expand-down data segments ---------------------------------------------
; (QEMU TCG does not check data-segment limits, so only valid offsets are used:
; they check the base arithmetic; the faults are left to the emulator's tests.)
test_expand_down:
        mov ax, SEL_EXPDOWN
        mov fs, ax
        mov dword [buf], 0x11223344
        mov eax, [fs:0x10000]                   ; lowest valid offset = buf
        CHECK eax, 0x11223344, "expand-down read"
        PUTSLN "expand-down: [0x10000] ok"
        mov ax, SEL_EXPDOWN16
        mov fs, ax
        mov word [buf + 0xFFE], 0x5A5A
        movzx eax, word [fs:0xFFFE]             ; valid: 0x1000 .. 0xFFFF
        CHECK eax, 0x5A5A, "expand-down16 read"
        PUTSLN "expand-down16: [0xFFFE] word ok"
        mov ax, SEL_DATA0
        mov fs, ax
        ret

; --- code-segment limit: a far jump beyond it raises #GP(0) -----------------
; (not CALL FAR: QEMU reports #GP(selector) there, the SDM says #GP(0))
test_limits:
        PUTS "jmp far code16:0x10000 (limit 0xFFFF) "
        TRY
        jmp SEL_CODE16:0x10000
        CATCH
        call report_fault
        ret

; --- selector loads that fault -----------------------------------------------
test_selector_loads:
        PUTS "mov ds, 0x103 (beyond limit) "
        mov ax, 0x103
        TRY
        mov ds, ax
        CATCH
        call report_fault
        PUTS "mov ds, execute-only code "
        mov ax, SEL_XONLY
        TRY
        mov ds, ax
        CATCH
        call report_fault
        PUTS "mov ds, not present "
        mov ax, SEL_ABSENT
        TRY
        mov ds, ax
        CATCH
        call report_fault
        PUTS "mov ss, ring 3 data "
        mov ax, SEL_DATA3
        TRY
        mov ss, ax
        CATCH
        call report_fault
        PUTS "mov ss, null "
        xor eax, eax
        TRY
        mov ss, ax
        CATCH
        call report_fault
        PUTS "mov es, call gate "
        mov ax, SEL_GATE
        TRY
        mov es, ax
        CATCH
        call report_fault
        PUTS "mov fs, ring 3 data "
        mov ax, SEL_DATA3
        TRY
        mov fs, ax
        CATCH
        call report_fault
        mov ax, SEL_DATA0
        mov fs, ax
        mov ds, ax
        mov es, ax
        ret

; --- LAR / LSL / VERR / VERW -------------------------------------------------
; one line per selector: lar=XXXXXXXX|invalid lsl=XXXXXXXX|invalid verr=0/1 verw=0/1
test_access_queries:
        mov esi, query_selectors
.next:  movzx ebx, word [esi]
        cmp bx, 0xFFFF
        je .done
        PUTS "sel "
        PHEX16 bx
        PUTS ": lar="
        mov eax, 0xDEADBEEF
        lar eax, ebx
        jnz .lar_bad
        and eax, 0x00F0FE00                     ; bits 19:16 undefined; A bit not compared
        PHEX eax
        jmp .lsl
.lar_bad:
        PUTS "invalid "
        CHECK eax, 0xDEADBEEF, "lar changed dest"
.lsl:   PUTS " lsl="
        mov eax, 0xDEADBEEF
        lsl eax, ebx
        jnz .lsl_bad
        PHEX eax
        jmp .verr
.lsl_bad:
        PUTS "invalid"
.verr:  PUTS " verr="
        verr bx
        setz al
        add al, '0'
        call putc
        PUTS " verw="
        verw bx
        setz al
        add al, '0'
        call putc
        NL
        add esi, 2
        jmp .next
.done:  ret

[section .rodata]
query_selectors:
        dw 0, SEL_CODE0, SEL_DATA0, SEL_CODE3, SEL_DATA3, SEL_TSS
        dw SEL_CODE16, SEL_EXPDOWN, SEL_SMALL, SEL_XONLY, SEL_GATE, SEL_ABSENT
        dw SEL_FREE + 0x50, 0x100, 0xFFFF
