; exceptions: raise each exception and print
;   `<case>: vector=NN error=XXXXXXXX eip-ok`
; The generic handler checks the pushed EIP: the faulting instruction for
; faults (TRY), the next instruction for traps (TRY_TRAP).
%include "lib/kernel.inc"
%include "lib/user.inc"
%include "lib/task.inc"
%include "lib/paging.inc"

SEL_ABSENT      equ SEL_FREE + 0x00     ; not-present data segment
SEL_SHORTTSS    equ SEL_FREE + 0x08     ; TSS descriptor with a limit < 0x67
SEL_CODE16      equ SEL_FREE + 0x10     ; code, limit 0xFFFF
VEC_ABSENT      equ 0x40                ; interrupt gate with P=0
VEC_INVALID     equ 0x41                ; all-zero gate (type 0)

[section .bss]
alignb 4096
pf_area:        resb 3 * 4096           ; absent page, read-only page, supervisor page
alignb 4
bounds:         resd 2
saved_gate:     resd 2

[section .text]
main:
        SET_DESC SEL_ABSENT, 0, 0xFFFFF, 0x12, FLG_32G
        SET_DESC SEL_SHORTTSS, tss, 0x20, ACC_TSS, 0
        SET_DESC SEL_CODE16, 0, 0xFFFF, ACC_CODE0, FLG_32
        SET_IDT_GATE VEC_ABSENT, 0, SEL_CODE0, 0x0E
        mov dword [isr_hooks + 1 * 4], clear_tf_hook
        call arithmetic_cases
        call debug_cases
        call opcode_cases
        call segment_cases
        call gp_cases
        call double_fault_case
        call page_fault_cases
        ret

; #DB: the trap frame still has TF set; clear it so the IRET does not trap again
clear_tf_hook:
        and dword [ebp + FR_EFLAGS], ~EFLAGS_TF
        xor eax, eax                    ; then record and resume as usual
        ret

arithmetic_cases:
        CASE "DE div by zero"
        mov eax, 1
        xor edx, edx
        xor ecx, ecx
        TRY
        div ecx
        CATCH
        call report_fault
        CASE "DE div quotient overflow"
        mov edx, 2
        xor eax, eax
        mov ecx, 1
        TRY
        div ecx
        CATCH
        call report_fault
        CASE "DE idiv 0x80000000/-1"
        mov eax, 0x80000000
        cdq
        mov ecx, -1
        TRY
        idiv ecx
        CATCH
        call report_fault
        CASE "DE div byte"
        mov ax, 0x1234
        mov cl, 0x10
        TRY
        div cl
        CATCH
        call report_fault
        CASE "OF into"
        mov al, 0x7F
        add al, 1                       ; OF = 1
        TRY_TRAP
        into
        CATCH
        call report_fault
        CASE "into with OF=0"
        xor eax, eax
        TRY_TRAP
        into
        CATCH
        call report_fault
        CASE "BR bound"
        mov dword [bounds], 10
        mov dword [bounds + 4], 20
        mov eax, 30
        TRY
        bound eax, [bounds]
        CATCH
        call report_fault
        CASE "bound in range"
        mov eax, 20
        TRY
        bound eax, [bounds]
        CATCH
        call report_fault
        ret

debug_cases:
        CASE "BP int3"
        TRY_TRAP
        int3
        CATCH
        call report_fault
        CASE "BP int 3"
        TRY_TRAP
        int 3
        CATCH
        call report_fault
        CASE "DB single step"
        TRY_TRAP
        pushfd
        or dword [esp], EFLAGS_TF
        popfd
        nop                             ; runs, then the trap
        CATCH
        call report_fault
        mov eax, dr6
        and eax, 0x4000
        PUTS "dr6.bs="
        PHEX eax
        NL
        ret

opcode_cases:
        CASE "UD ud2"
        TRY
        ud2
        CATCH
        call report_fault
        CASE "UD 0f ff"
        TRY
        db 0x0F, 0xFF
        CATCH
        call report_fault
        CASE "UD lock nop"
        TRY
        db 0xF0, 0x90
        CATCH
        call report_fault
        CASE "UD mov cs, ax"
        TRY
        db 0x8E, 0xC8
        CATCH
        call report_fault
        CASE "UD cmpxchg8b eax"
        TRY
        db 0x0F, 0xC7, 0xC8
        CATCH
        call report_fault
        CASE "NM fninit with CR0.EM"
        mov eax, cr0
        or eax, CR0_EM
        mov cr0, eax
        TRY
        fninit
        CATCH
        call report_fault
        mov eax, cr0
        and eax, ~CR0_EM
        or eax, CR0_TS
        mov cr0, eax
        CASE "NM fninit with CR0.TS"
        TRY
        fninit
        CATCH
        call report_fault
        clts
        ret

segment_cases:
        CASE "NP mov ds, absent"
        mov ax, SEL_ABSENT
        TRY
        mov ds, ax
        CATCH
        call report_fault
        CASE "NP int to absent gate"
        TRY
        int VEC_ABSENT
        CATCH
        call report_fault
        CASE "SS mov ss, absent"
        mov ax, SEL_ABSENT
        TRY
        mov ss, ax
        CATCH
        call report_fault
        CASE "TS jmp to short TSS"
        TRY
        jmp SEL_SHORTTSS:0
        CATCH
        call report_fault
        CASE "TS iret with NT, bad back link"
        mov word [tss + TSS_LINK], 0x103
        call try_iret_nt
        mov word [tss + TSS_LINK], 0
        call report_fault
        ret

gp_cases:
        CASE "GP mov ds, beyond GDT"
        mov ax, 0x103
        TRY
        mov ds, ax
        CATCH
        call report_fault
        CASE "GP jmp far beyond CS limit"
        TRY
        jmp SEL_CODE16:0x10000
        CATCH
        call report_fault
        CASE "GP int through type-0 gate"
        TRY
        int VEC_INVALID
        CATCH
        call report_fault
        USER_CASE "GP ring 3 int to DPL 0 gate", user_int_absent, EFLAGS_BASE
        USER_CASE "GP ring 3 cli", user_cli, EFLAGS_BASE
        USER_CASE "GP ring 3 mov ds, DPL 0", user_load_ds0, EFLAGS_BASE
        ret

user_int_absent:
        USER_TRY int VEC_ABSENT
user_cli:
        USER_TRY cli
user_load_ds0:
        mov ax, SEL_DATA0
        USER_TRY mov ds, ax

; Double faults. The EIP saved for #DF is undefined: only vector and error
; are printed. (1) #GP whose gate is absent: delivering it raises #NP;
; (2) #DE whose gate has type 0: delivering it raises #GP.
double_fault_case:
        mov eax, [idt + 13 * 8 + 4]
        mov [saved_gate], eax
        and dword [idt + 13 * 8 + 4], ~0x8000   ; #GP gate not present
        mov ax, 0x103
        TRY
        mov ds, ax
        CATCH
        mov eax, [saved_gate]
        mov [idt + 13 * 8 + 4], eax
        CASE "DF GP through absent gate"
        call report_df
        mov eax, [idt + 0 * 8 + 4]
        mov [saved_gate], eax
        mov dword [idt + 0 * 8 + 4], 0          ; #DE gate of type 0
        xor ecx, ecx
        TRY
        div ecx
        CATCH
        mov eax, [saved_gate]
        mov [idt + 0 * 8 + 4], eax
        CASE "DF DE through type-0 gate"
        call report_df
        ret

report_df:
        PUTS "vector="
        PHEX8 [fault_vector]
        PUTS " error="
        PHEX [fault_error]
        NL
        ret

page_fault_cases:
        call paging_identity
        mov eax, pf_area
        call pte_of
        and dword [eax], ~PTE_P                 ; page 0: absent
        and dword [eax + 4], ~PTE_RW            ; page 1: read-only
        and dword [eax + 8], ~PTE_US            ; page 2: supervisor only
        call paging_on
        CASE "PF read absent"
        TRY
        mov eax, [pf_area + 0x123]
        CATCH
        call report_pf
        CASE "PF write absent"
        TRY
        mov dword [pf_area + 0xFFC], 1
        CATCH
        call report_pf
        CASE "ring 0 write read-only, WP=0"
        TRY
        mov dword [pf_area + 4096], 1
        CATCH
        call report_fault
        mov eax, cr0
        or eax, CR0_WP
        mov cr0, eax
        CASE "PF ring 0 write read-only, WP=1"
        TRY
        mov dword [pf_area + 4096 + 8], 1
        CATCH
        call report_pf
        CASE "PF fetch from absent page"
        mov dword [fault_vector], -1
        mov dword [fault_expect], pf_area + 0x10
        mov dword [fault_resume], .fetched
        mov eax, pf_area + 0x10
        call eax
.fetched:
        add esp, 4                              ; the return address of the call
        call report_pf
        USER_CASE "PF ring 3 read supervisor page", user_read_super, EFLAGS_BASE
        call report_cr2
        USER_CASE "PF ring 3 write read-only page", user_write_ro, EFLAGS_BASE
        call report_cr2
        USER_CASE "PF ring 3 write at page boundary", user_write_straddle, EFLAGS_BASE
        call report_cr2
        call paging_off
        mov eax, cr0
        and eax, ~CR0_WP
        mov cr0, eax
        ret

user_read_super:
        USER_TRY mov eax, [pf_area + 2 * 4096 + 0x40]
user_write_ro:
        USER_TRY mov [pf_area + 4096 + 0x80], eax
user_write_straddle:                            ; last 2 bytes of the RO page + 2 of the next
        USER_TRY mov dword [pf_area + 2 * 4096 - 2], 0

; report_pf: report_fault plus CR2
report_pf:
        call report_fault
report_cr2:
        cmp dword [fault_vector], 14
        jne .done
        PUTS "  cr2=pf_area+"
        mov eax, [fault_cr2]
        sub eax, pf_area
        PHEX eax
        NL
.done:  ret
