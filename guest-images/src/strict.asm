; strict: the checks QEMU TCG does not model, so its expected output comes
; from the Intel SDM vol. 3 instead of a QEMU run (see README.md):
;   - data and stack segment limits (normal, expand-down with B=1 and B=0),
;     and a null selector used for an access: #GP(0) / #SS(0);
;   - a far CALL past the CS limit: #GP(0) (QEMU raises #GP(selector));
;   - alignment checking: #AC(0) at CPL 3 with CR0.AM and EFLAGS.AC, and
;     nothing when one of the three conditions is missing;
;   - the EXT bit of error codes: set when the event being delivered is an
;     exception (#NP for bound vs int 5 through an absent gate, #GP for #UD
;     through a gate to a data segment, single-step #DB through a type-0 gate);
;   - a fault after a task switch's commit point is raised in the new task:
;     its saved EIP is the new task's first instruction (QEMU saves the EIP of
;     the old task's JMP);
;   - the T flag of a TSS: #DB with DR6.BT before the new task's first
;     instruction (QEMU ignores the flag);
;   - EFLAGS.RF in the image a fault pushes is 1, in a trap's it is 0 (QEMU
;     pushes 0 for both);
;   - CR4.VME is reserved: Trapeze's CPUID does not advertise VME (QEMU's
;     pentium3 does), so setting it raises #GP(0).
; Each case prints `case: vector=NN error=XXXXXXXX eip-ok` or `no fault`.
%include "lib/kernel.inc"
%include "lib/user.inc"
%include "lib/task.inc"

SEL_SMALL       equ SEL_FREE + 0x00     ; data, limit 0xFFF
SEL_DOWN32      equ SEL_FREE + 0x08     ; expand-down data, limit 0xFFF, B=1
SEL_DOWN16      equ SEL_FREE + 0x10     ; expand-down data, limit 0xFFF, B=0
SEL_STACK0      equ SEL_FREE + 0x18     ; ring 0 stack segment, limit 0xFFF
SEL_STACK3      equ SEL_FREE + 0x20 | 3 ; ring 3 stack segment, limit 0xFFF
SEL_CODESMALL   equ SEL_FREE + 0x28     ; ring 0 code, limit 0xFFF
SEL_TSS_F       equ SEL_FREE + 0x30     ; a task whose DS is not present
SEL_ABSENT      equ SEL_FREE + 0x38     ; data segment, not present
SEL_TSS_T       equ SEL_FREE + 0x40     ; a task with the T (debug trap) flag
TSS_TRAP        equ 0x64
ACC_DOWN0       equ 0x96                ; present, DPL0, data, expand-down, writable
CR0_AM          equ 1 << 18

[section .bss]
alignb 4096
small_area:     resb 4096
alignb 16
ac_data:        resd 8
saved_gate:     resd 2
saved_esp:      resd 1
np_info:        resd 4                  ; vector, error, TR, EIP
db_info:        resd 4                  ; DR6, TR, EIP, count
alignb 128
tss_t:          resb TSS_SIZE
alignb 128
tss_f:          resb TSS_SIZE
alignb 16
task_f_stack:   resb 4096
task_f_stack_top:

[section .text]
main:
        SET_DESC SEL_SMALL, small_area, 0xFFF, ACC_DATA0, FLG_32
        SET_DESC SEL_DOWN32, 0, 0xFFF, ACC_DOWN0, FLG_32
        SET_DESC SEL_DOWN16, 0, 0xFFF, ACC_DOWN0, FLG_16
        SET_DESC SEL_STACK0, small_area, 0xFFF, ACC_DATA0, FLG_32
        SET_DESC SEL_STACK3, small_area, 0xFFF, ACC_DATA3, FLG_32
        SET_DESC SEL_CODESMALL, 0, 0xFFF, ACC_CODE0, FLG_32
        call limit_cases
        call stack_cases
        call far_call_case
        call alignment_cases
        call ext_cases
        call task_fault_case
        call task_trap_case
        call resume_flag_cases
        CASE "mov cr4 with VME set"
        mov eax, cr4
        or eax, 1
        TRY
        mov cr4, eax
        CATCH
        call report_fault
        ret

limit_cases:
        mov ax, SEL_SMALL
        mov es, ax
        CASE "limit 0xFFF: read dword at 0xFFE"
        TRY
        mov eax, [es:0xFFE]
        CATCH
        call report_fault
        CASE "limit 0xFFF: read byte at 0xFFF"
        TRY
        mov al, [es:0xFFF]
        CATCH
        call report_fault
        CASE "limit 0xFFF: write byte at 0x1000"
        TRY
        mov byte [es:0x1000], 1
        CATCH
        call report_fault
        CASE "limit 0xFFF: rep stosb across the limit"
        mov edi, 0xFF0
        mov ecx, 0x20
        TRY
        rep stosb
        CATCH
        call report_fault
        PUTS "  edi="
        PHEX edi
        PUTS " ecx="
        PHEX ecx
        NL
        mov ax, SEL_DOWN32
        mov es, ax
        CASE "expand-down B=1 limit 0xFFF: read at 0x800"
        TRY
        mov eax, [es:0x800]
        CATCH
        call report_fault
        CASE "expand-down B=1 limit 0xFFF: read at 0x1000"
        TRY
        mov eax, [es:0x1000]
        CATCH
        call report_fault
        mov ax, SEL_DOWN16
        mov es, ax
        CASE "expand-down B=0 limit 0xFFF: read dword at 0xFFFE"
        TRY
        mov eax, [es:0xFFFE]
        CATCH
        call report_fault
        CASE "expand-down B=0 limit 0xFFF: read word at 0xFFFE"
        TRY
        mov ax, [es:0xFFFE]
        CATCH
        call report_fault
        xor eax, eax
        mov es, ax
        CASE "null ES: read"
        TRY
        mov eax, [es:0]
        CATCH
        call report_fault
        CASE "null ES: write"
        TRY
        mov [es:0], eax
        CATCH
        call report_fault
        mov ax, SEL_DATA0
        mov es, ax
        ret

; A ring 0 fault on SS: the handler's frame still fits below ESP.
stack_cases:
        mov [saved_esp], esp
        mov ax, SEL_STACK0
        mov ss, ax
        mov esp, 0x800
        CASE "ring 0 SS limit 0xFFF: read at 0x1000"
        TRY
        mov eax, [ss:0x1000]
        CATCH
        call report_fault
        CASE "ring 0 SS limit 0xFFF: read through EBP at 0xFFD"
        mov ebp, 0xFFD
        TRY
        mov eax, [ebp]
        CATCH
        call report_fault
        mov ax, SEL_DATA0
        mov ss, ax
        mov esp, [saved_esp]
        USER_CASE "ring 3 SS limit 0xFFF: push at ESP=2", user_push_small, EFLAGS_BASE
        ret

; the push faults; the #SS frame goes on the ring 0 stack from the TSS
user_push_small:
        mov ax, SEL_STACK3
        mov ss, ax
        mov esp, 2
        USER_TRY push eax

far_call_case:
        CASE "call far past the CS limit"
        TRY
        call SEL_CODESMALL:0x2000
        CATCH
        call report_fault
        ret

alignment_cases:
        USER_CASE "AC ring 3, AM=0 AC=1: misaligned dword", user_misaligned, EFLAGS_BASE | EFLAGS_AC
        mov eax, cr0
        or eax, CR0_AM
        mov cr0, eax
        USER_CASE "AC ring 3, AM=1 AC=1: misaligned dword", user_misaligned, EFLAGS_BASE | EFLAGS_AC
        USER_CASE "AC ring 3, AM=1 AC=1: misaligned word", user_misaligned_word, EFLAGS_BASE | EFLAGS_AC
        USER_CASE "AC ring 3, AM=1 AC=1: aligned dword", user_aligned, EFLAGS_BASE | EFLAGS_AC
        USER_CASE "AC ring 3, AM=1 AC=1: push with ESP misaligned", user_push_misaligned, EFLAGS_BASE | EFLAGS_AC
        USER_CASE "AC ring 3, AM=1 AC=1: rep movsd from a misaligned source", user_movs_misaligned, EFLAGS_BASE | EFLAGS_AC
        USER_CASE "AC ring 3, AM=1 AC=0: misaligned dword", user_misaligned, EFLAGS_BASE
        USER_CASE "AC ring 3, AM=1, AC set by popfd: misaligned dword", user_popf_ac, EFLAGS_BASE
        CASE "AC ring 0, AM=1 AC=1: misaligned dword"
        pushfd
        or dword [esp], EFLAGS_AC
        popfd
        TRY
        mov eax, [ac_data + 1]
        CATCH
        pushfd
        and dword [esp], ~EFLAGS_AC
        popfd
        call report_fault
        mov eax, cr0
        and eax, ~CR0_AM
        mov cr0, eax
        ret

user_misaligned:
        USER_TRY mov eax, [ac_data + 1]
user_misaligned_word:
        USER_TRY mov ax, [ac_data + 3]
user_aligned:
        USER_TRY mov eax, [ac_data + 4]
user_push_misaligned:
        sub esp, 2
        USER_TRY push eax
user_movs_misaligned:
        mov dword [ac_data + 16], 0     ; an aligned write: the page has both TLB entries
        mov esi, ac_data + 1
        mov edi, ac_data + 16
        mov ecx, 2
        USER_TRY rep movsd
user_popf_ac:
        pushfd
        or dword [esp], EFLAGS_AC
        popfd
        USER_TRY mov eax, [ac_data + 2]

ext_cases:
        ; vector 5 absent: INT 5 is software (EXT=0), BOUND's #BR is an exception (EXT=1)
        mov eax, [idt + 5 * 8 + 4]
        mov [saved_gate], eax
        and dword [idt + 5 * 8 + 4], ~0x8000
        CASE "EXT int 5, absent gate"
        TRY
        int 5
        CATCH
        call report_fault
        CASE "EXT bound, absent #BR gate"
        mov dword [ac_data], 0
        mov dword [ac_data + 4], 1
        mov eax, 2
        TRY
        bound eax, [ac_data]
        CATCH
        call report_fault
        mov eax, [saved_gate]
        mov [idt + 5 * 8 + 4], eax
        ; #UD through a gate whose selector names a data segment
        mov eax, [idt + 6 * 8]
        mov [saved_gate], eax
        mov word [idt + 6 * 8 + 2], SEL_SMALL
        CASE "EXT ud2, #UD gate selects a data segment"
        TRY
        ud2
        CATCH
        call report_fault
        mov eax, [saved_gate]
        mov [idt + 6 * 8], eax
        ; single-step #DB through a type-0 gate: #GP(vector 1, IDT, EXT)
        mov eax, [idt + 1 * 8 + 4]
        mov [saved_gate], eax
        mov dword [idt + 1 * 8 + 4], 0
        mov dword [isr_hooks + 13 * 4], clear_tf_hook
        CASE "EXT single step, type-0 #DB gate"
        TRY_TRAP
        pushfd
        or dword [esp], EFLAGS_TF
        popfd
        nop
        CATCH
        mov dword [isr_hooks + 13 * 4], 0
        mov eax, [saved_gate]
        mov [idt + 1 * 8 + 4], eax
        call report_fault
        ret

; the #GP frame still has TF set: clear it so the IRET does not trap again
clear_tf_hook:
        and dword [ebp + FR_EFLAGS], ~EFLAGS_TF
        xor eax, eax
        ret

; JMP to task F, whose DS is not present: the #NP comes after the commit
; point, so it is delivered in task F (TR = F, EIP = F's entry). The handler
; records it and jumps back to this task, which resumes after its JMP.
task_fault_case:
        mov edi, tss_f
        mov eax, task_f
        mov ebx, task_f_stack_top
        call init_task
        mov dword [tss_f + TSS_DS], SEL_ABSENT
        SET_DESC SEL_TSS_F, tss_f, TSS_SIZE - 1, ACC_TSS, 0
        SET_DESC SEL_ABSENT, 0, 0xFFFFF, 0x12, FLG_32G
        CASE "jmp to a task whose DS is not present"
        mov dword [isr_hooks + 11 * 4], np_in_new_task
        jmp SEL_TSS_F:0
        mov dword [isr_hooks + 11 * 4], 0
        clts
        PUTS "vector="
        PHEX8 [np_info]
        PUTS " error="
        PHEX [np_info + 4]
        PUTS " tr="
        PHEX16 [np_info + 8]
        PUTS " eip="
        mov eax, [np_info + 12]
        cmp eax, task_f
        jne .other
        PUTS "task F entry"
        jmp .eipdone
.other: PHEX eax
.eipdone:
        PUTS " busy F="
        movzx eax, byte [gdt + SEL_TSS_F + 5]
        shr eax, 1
        and eax, 1
        PDEC eax
        NL
        ret

task_f:
        FAIL "task F ran with DS not present"

np_in_new_task:
        mov eax, [ebp + FR_VECTOR]
        mov [np_info], eax
        mov eax, [ebp + FR_ERROR]
        mov [np_info + 4], eax
        str ax
        movzx eax, ax
        mov [np_info + 8], eax
        mov eax, [ebp + FR_EIP]
        mov [np_info + 12], eax
        jmp SEL_TSS:0

; JMP to task T, whose TSS has the T flag: a #DB trap (DR6.BT) is taken in
; task T before its first instruction; the hook returns there, and task T
; jumps back.
task_trap_case:
        mov edi, tss_t
        mov eax, task_t
        mov ebx, task_f_stack_top
        call init_task
        mov word [tss_t + TSS_TRAP], 1
        SET_DESC SEL_TSS_T, tss_t, TSS_SIZE - 1, ACC_TSS, 0
        xor eax, eax
        mov dr6, eax
        mov dword [isr_hooks + 1 * 4], db_on_switch
        CASE "jmp to a task with the T flag"
        jmp SEL_TSS_T:0
        mov dword [isr_hooks + 1 * 4], 0
        clts
        PUTS "#DB count="
        PDEC [db_info + 12]
        PUTS " dr6.bt="
        mov eax, [db_info]
        shr eax, 15
        and eax, 1
        PDEC eax
        PUTS " tr="
        PHEX16 [db_info + 4]
        PUTS " eip="
        mov eax, [db_info + 8]
        cmp eax, task_t
        jne .other
        PUTS "task T entry"
        jmp .done
.other: PHEX eax
.done:  NL
        ret

task_t:
        jmp SEL_TSS:0

db_on_switch:
        mov eax, dr6
        mov [db_info], eax
        str ax
        movzx eax, ax
        mov [db_info + 4], eax
        mov eax, [ebp + FR_EIP]
        mov [db_info + 8], eax
        inc dword [db_info + 12]
        mov eax, 1                      ; handled: IRET to task T
        ret

; RF in the pushed EFLAGS: 1 for a fault-class exception, the current RF (0)
; for a trap
resume_flag_cases:
        CASE "RF pushed by ud2 (a fault)"
        TRY
        ud2
        CATCH
        call print_rf
        CASE "RF pushed by int3 (a trap)"
        TRY_TRAP
        int3
        CATCH
        call print_rf
        ret

print_rf:
        PUTS "rf="
        mov eax, [fault_eflags]
        shr eax, 16
        and eax, 1
        PDEC eax
        NL
        ret
