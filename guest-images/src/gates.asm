; gates: call gates and task switches beyond `rings` and `tasks`.
;   Call gates: a 16-bit gate at the same level (16-bit CS:IP pushed), JMP
;   through a gate, a 16-bit gate from ring 3 to ring 0 with one word
;   parameter (16-bit frame on the TSS stack), INT from ring 3 through a
;   16-bit interrupt gate (16-bit frame), and the gate checks: DPL < CPL,
;   RPL > DPL, not present, a data segment, a null selector, JMP to an inner
;   level.
;   Task switches: CALL to a 16-bit TSS and IRET back (16-bit TSS fields,
;   FS/GS null, CR0.TS set), a task with an LDT, a task with its own page
;   directory (CR3 loaded, and the TLB entry it used gone after the return),
;   IRET to a task that is not
;   busy (#TS), JMP to a DPL 0 TSS and INT through a DPL 0 task gate from
;   ring 3 (#GP), LTR of a busy TSS (#GP).
%include "lib/kernel.inc"
%include "lib/user.inc"
%include "lib/task.inc"
%include "lib/paging.inc"

SEL_GATE16      equ SEL_FREE + 0x00     ; 16-bit call gate, DPL 0, same level
SEL_GATEJMP     equ SEL_FREE + 0x08     ; 32-bit call gate, DPL 0 (JMP target)
SEL_GATEUP16    equ SEL_FREE + 0x10     ; 16-bit call gate, DPL 3 -> ring 0, 1 param
SEL_GATEABSENT  equ SEL_FREE + 0x18     ; 32-bit call gate, not present
SEL_GATEDATA    equ SEL_FREE + 0x20     ; 32-bit call gate to a data segment
SEL_GATENULL    equ SEL_FREE + 0x28     ; 32-bit call gate with a null selector
SEL_GATEJMP3    equ SEL_FREE + 0x30     ; 32-bit call gate, DPL 3, to ring 0 code
SEL_TSS16       equ SEL_FREE + 0x38     ; 16-bit TSS
SEL_TSS_G       equ SEL_FREE + 0x48     ; 32-bit TSS, available, never run
SEL_TSS_L       equ SEL_FREE + 0x50     ; 32-bit TSS with an LDT
SEL_LDT         equ SEL_FREE + 0x58
SEL_TSS_M       equ SEL_FREE + 0x60     ; 32-bit TSS with its own page directory
OTHER_LINEAR    equ 0x40000000          ; mapped only in task M's page directory
SEL_LDT_DATA    equ 0x0C                ; LDT index 1, TI=1, RPL 0
VEC_TASKGATE    equ 0x91                ; task gate to G, DPL 0
VEC_INT16       equ 0x92                ; 16-bit interrupt gate, DPL 3, to ring 0

ACC_TSS16       equ 0x81                ; present, DPL0, 16-bit TSS available
ACC_LDT         equ 0x82
TSS16_SIZE      equ 0x2C

[section .bss]
alignb 128
tss16:          resb TSS16_SIZE
alignb 128
tss_g:          resb TSS_SIZE
alignb 128
tss_l:          resb TSS_SIZE
alignb 128
tss_m:          resb TSS_SIZE
alignb 4096
pd_m:           resd 1024
alignb 16
ldt_table:      resq 2
ldt_area:       resd 4
alignb 16
task_stacks:    resb 4 * 4096
gate_esp:       resd 1
gate_frame:     resw 5
gate_cs:        resd 1
t16_regs:       resw 8
t16_info:       resd 4                  ; TR, back link, FS, GS
t16_cr0:        resd 1
tl_info:        resd 3                  ; LDTR, value read through the LDT, DS
tm_info:        resd 2                  ; CR3, value read at OTHER_LINEAR
saved_link:     resd 1

[section .text]
main:
        SET_DESC SEL_CODE16B, 0x100000, 0xFFFF, ACC_CODE0, FLG_32
        SET_GDT_GATE SEL_GATE16, gate16_target - 0x100000, SEL_CODE16B, 0x84, 0
        SET_GDT_GATE SEL_GATEJMP, gate_jmp_target, SEL_CODE0, 0x8C, 0
        SET_GDT_GATE SEL_GATEUP16, frame16_target - 0x100000, SEL_CODE16B, 0xE4, 1
        SET_IDT_GATE VEC_INT16, frame16_target - 0x100000, SEL_CODE16B, 0xE6
        SET_GDT_GATE SEL_GATEABSENT, gate_jmp_target, SEL_CODE0, 0x0C, 0
        SET_GDT_GATE SEL_GATEDATA, gate_jmp_target, SEL_DATA0, 0x8C, 0
        SET_GDT_GATE SEL_GATENULL, gate_jmp_target, 0, 0x8C, 0
        SET_GDT_GATE SEL_GATEJMP3, gate_jmp_target, SEL_CODE0, 0xEC, 0
        call call_gate_cases
        call task16_case
        call ldt_task_case
        call cr3_task_case
        call task_fault_cases
        ret

; --- call gates ------------------------------------------------------------------
call_gate_cases:
        CASE "16-bit call gate, same level"
        mov [gate_esp], esp
        call SEL_GATE16:0
.back16:
        PUTS "pushed "
        mov ecx, .back16
        call print_ip16
        PUTS " cs="
        PHEX16 [gate_frame + 2]
        PUTS " esp=caller-"
        mov eax, [gate_esp]
        sub eax, [gate_frame + 4]
        PHEX8 al
        NL
        CASE "jmp through a call gate"
        mov [gate_esp], esp
        jmp SEL_GATEJMP:0
.backjmp:
        PUTS "cs="
        PHEX16 [gate_cs]
        PUTS " esp=caller-"
        mov eax, [gate_esp]
        sub eax, [gate_frame + 4]
        PHEX8 al
        NL
        CASE "16-bit call gate from ring 3, 1 word parameter"
        mov eax, user_call_up16
        mov ebx, EFLAGS_BASE
        call run_user
        mov ecx, user_call_up16.next
        mov esi, name_param
        call print_frame16
        CASE "16-bit interrupt gate from ring 3"
        mov eax, user_int16
        mov ebx, EFLAGS_BASE
        call run_user
        mov ecx, user_int16.next
        mov esi, name_flags
        call print_frame16
        USER_CASE "call gate DPL 0 from ring 3", user_call_dpl0, EFLAGS_BASE
        CASE "call gate with RPL 3 > DPL 0"
        TRY
        call (SEL_GATEJMP | 3):0
        CATCH
        call report_fault
        CASE "call gate not present"
        TRY
        call SEL_GATEABSENT:0
        CATCH
        call report_fault
        CASE "call gate to a data segment"
        TRY
        call SEL_GATEDATA:0
        CATCH
        call report_fault
        CASE "call gate with a null selector"
        TRY
        call SEL_GATENULL:0
        CATCH
        call report_fault
        USER_CASE "jmp through a call gate to ring 0", user_jmp_inner, EFLAGS_BASE
        ret

; print_ip16: `ip=next` when the word at gate_frame is the low half of ECX
print_ip16:
        movzx eax, word [gate_frame]
        cmp ax, cx
        jne .other
        PUTS "ip=next"
        ret
.other: PUTS "ip="
        PHEX16 ax
        ret

; print_frame16: the five words a 16-bit gate pushed on the ring 0 stack (IP,
; CS, ESI = the name of the third, SP, SS), then where that left ESP and CS.
; ECX = the return address.
print_frame16:
        PUTS "frame "
        call print_ip16
        PUTS " cs="
        PHEX16 [gate_frame + 2]
        mov al, ' '
        call putc
        call puts
        mov al, '='
        call putc
        PHEX16 [gate_frame + 4]
        PUTS " sp="
        PHEX16 [gate_frame + 6]
        PUTS " ss="
        PHEX16 [gate_frame + 8]
        PUTS " esp=esp0-"
        mov eax, isr_stack_top
        sub eax, [gate_esp]
        PHEX8 al
        PUTS " cs="
        PHEX16 [gate_cs]
        NL
        ret

[section .rodata]
name_param:     db "param", 0
name_flags:     db "flags", 0
[section .text]

; same level through a 16-bit gate: a 16-bit IP and CS were pushed. The
; 16-bit gates' targets run in SEL_CODE16B (base 1 MiB) and leave by far JMP.
gate16_target:
        mov eax, [esp]
        mov [gate_frame], eax
        mov [gate_frame + 4], esp
        add esp, 4
        jmp SEL_CODE0:call_gate_cases.back16

gate_jmp_target:
        mov [gate_frame + 4], esp
        mov ax, cs
        mov [gate_cs], eax
        jmp call_gate_cases.backjmp

; ring 0 through a 16-bit call or interrupt gate: five words (IP, CS, the
; parameter or FLAGS, SP, SS)
frame16_target:
        mov [ss:gate_esp], esp
        mov ax, cs
        mov [ss:gate_cs], eax
        mov eax, [esp]
        mov [ss:gate_frame], eax
        mov eax, [esp + 4]
        mov [ss:gate_frame + 4], eax
        mov ax, [esp + 8]
        mov [ss:gate_frame + 8], ax
        jmp SEL_CODE0:user_exit_isr     ; back to run_user's caller, in ring 0

user_call_up16:
        push word 0x1234
        call SEL_GATEUP16 | 3:0
.next:  USER_EXIT
user_int16:
        int VEC_INT16
.next:  USER_EXIT
user_call_dpl0:
        USER_TRY call SEL_GATEJMP | 3:0
user_jmp_inner:
        USER_TRY jmp SEL_GATEJMP3 | 3:0

; --- a 16-bit TSS --------------------------------------------------------------------
task16_case:
        mov edi, tss16
        xor eax, eax
        mov ecx, TSS16_SIZE / 4
        rep stosd
        mov eax, task16_entry - 0x100000        ; IP: the task's code segment is based at 1 MiB
        mov [tss16 + 0x0E], ax
        mov word [tss16 + 0x10], EFLAGS_BASE
        mov word [tss16 + 0x12], 0xAAAA         ; AX
        mov word [tss16 + 0x14], 0xCCCC         ; CX
        mov word [tss16 + 0x16], 0xDDDD         ; DX
        mov word [tss16 + 0x18], 0xBBBB         ; BX
        mov word [tss16 + 0x1A], 0x1000         ; SP
        mov word [tss16 + 0x1C], 0xB0B0         ; BP
        mov word [tss16 + 0x1E], 0x5151         ; SI
        mov word [tss16 + 0x20], 0xD1D1         ; DI
        mov word [tss16 + 0x22], SEL_DATA0      ; ES
        mov word [tss16 + 0x24], SEL_CODE16B    ; CS
        mov word [tss16 + 0x26], SEL_DATA0      ; SS
        mov word [tss16 + 0x28], SEL_DATA0      ; DS
        SET_DESC SEL_TSS16, tss16, TSS16_SIZE - 1, ACC_TSS16, 0
        PUTSLN "call a 16-bit TSS"
        call SEL_TSS16:0
        PUTS "  in the task: tr="
        PHEX16 [t16_info]
        PUTS " link="
        PHEX16 [t16_info + 4]
        PUTS " fs="
        PHEX16 [t16_info + 8]
        PUTS " gs="
        PHEX16 [t16_info + 12]
        PUTS " cr0.ts="
        mov eax, [t16_cr0]
        shr eax, 3
        and eax, 1
        PDEC eax
        NL
        PUTS "  ax="
        PHEX16 [t16_regs + 0]
        PUTS " cx="
        PHEX16 [t16_regs + 2]
        PUTS " dx="
        PHEX16 [t16_regs + 4]
        PUTS " bx="
        PHEX16 [t16_regs + 6]
        PUTS " sp="
        PHEX16 [t16_regs + 8]
        PUTS " bp="
        PHEX16 [t16_regs + 10]
        PUTS " si="
        PHEX16 [t16_regs + 12]
        PUTS " di="
        PHEX16 [t16_regs + 14]
        NL
        PUTS "  back: saved ip=after its iret flags="
        movzx eax, word [tss16 + 0x0E]
        mov ecx, task16.after - 0x100000
        cmp ax, cx
        je .ipok
        FAIL "16-bit TSS saved IP"
.ipok:  PHEX16 [tss16 + 0x10]
        PUTS " ax="
        PHEX16 [tss16 + 0x12]
        PUTS " busy="
        movzx eax, byte [gdt + SEL_TSS16 + 5]
        shr eax, 1
        and eax, 1
        PDEC eax
        PUTS " nt="
        pushfd
        pop eax
        shr eax, 14
        and eax, 1
        PDEC eax
        NL
        clts
        ret

SEL_CODE16B     equ SEL_FREE + 0x68     ; 32-bit code based at 1 MiB (offsets < 64 KiB)

; runs in SEL_CODE16B (base 0x100000): EIP = linear - 0x100000
task16_entry:
        mov [t16_regs + 0], ax
        mov [t16_regs + 2], cx
        mov [t16_regs + 4], dx
        mov [t16_regs + 6], bx
        mov [t16_regs + 8], sp
        mov [t16_regs + 10], bp
        mov [t16_regs + 12], si
        mov [t16_regs + 14], di
        str ax
        movzx eax, ax
        mov [t16_info], eax
        movzx eax, word [tss16]
        mov [t16_info + 4], eax
        mov ax, fs
        movzx eax, ax
        mov [t16_info + 8], eax
        mov ax, gs
        movzx eax, ax
        mov [t16_info + 12], eax
        mov eax, cr0
        mov [t16_cr0], eax
        mov ax, 0x7777
        iretd
task16.after equ $

; --- a task with an LDT -------------------------------------------------------------
ldt_task_case:
        mov dword [ldt_area], 0x1DA7A000
        mov edi, ldt_table + 8                  ; LDT index 1: data at ldt_area
        mov ebx, ldt_area
        mov ax, bx
        shl eax, 16
        mov ax, 0x000F                          ; limit 15
        mov [edi], eax
        mov eax, ebx
        shr eax, 16
        and eax, 0xFF
        or eax, 0x00409200                      ; present DPL0 data, B=1
        mov ecx, ebx
        and ecx, 0xFF000000
        or eax, ecx
        mov [edi + 4], eax
        SET_DESC SEL_LDT, ldt_table, 15, ACC_LDT, 0
        mov edi, tss_l
        mov eax, task_l
        mov ebx, task_stacks + 4096
        call init_task
        mov dword [tss_l + TSS_LDT], SEL_LDT
        mov dword [tss_l + TSS_DS], SEL_LDT_DATA
        SET_DESC SEL_TSS_L, tss_l, TSS_SIZE - 1, ACC_TSS, 0
        CASE "call a task with an LDT"
        call SEL_TSS_L:0
        PUTS "ldtr="
        PHEX16 [tl_info]
        PUTS " ds="
        PHEX16 [tl_info + 8]
        PUTS " [ds:0]="
        PHEX [tl_info + 4]
        PUTS " back: ldtr="
        sldt ax
        PHEX16 ax
        NL
        clts
        ret

task_l:
        mov eax, [0]                            ; through the LDT data segment
        mov bx, ds
        mov cx, SEL_DATA0
        mov ds, cx
        mov [tl_info + 4], eax
        movzx ebx, bx
        mov [tl_info + 8], ebx
        sldt ax
        movzx eax, ax
        mov [tl_info], eax
        iretd

; --- a task with its own page directory ---------------------------------------------
; Task M's CR3 maps OTHER_LINEAR, which this task's page directory does not.
; CR3 is not saved by a switch: the return loads this task's TSS CR3 field.
cr3_task_case:
        call paging_identity
        mov dword [pool_next], 0x1000000
        mov dword [pool_end], 0x1010000
        mov esi, page_dir
        mov edi, pd_m
        mov ecx, 1024
        rep movsd
        call frame_alloc
        mov dword [eax], 0x0DDC0DE5
        lea ebx, [eax + PTE_URW]
        mov eax, OTHER_LINEAR
        mov edi, pd_m
        call map_page
        mov edi, tss_m
        mov eax, task_m
        mov ebx, task_stacks + 3 * 4096
        call init_task
        mov dword [tss_m + TSS_CR3], pd_m
        mov dword [tss + TSS_CR3], page_dir
        SET_DESC SEL_TSS_M, tss_m, TSS_SIZE - 1, ACC_TSS, 0
        call paging_on
        CASE "call a task with its own page directory"
        call SEL_TSS_M:0
        PUTS "cr3="
        mov eax, [tm_info]
        cmp eax, pd_m
        jne .badcr3
        PUTS "its own"
        jmp .cr3done
.badcr3: PHEX eax
.cr3done:
        PUTS " [0x40000000]="
        PHEX [tm_info + 4]
        PUTS " back: cr3="
        mov eax, cr3
        cmp eax, page_dir
        jne .badback
        PUTSLN "this task's"
        jmp .backdone
.badback: PHEX eax
        NL
.backdone:
        CASE "  read 0x40000000 after the return"
        TRY
        mov eax, [OTHER_LINEAR]
        CATCH
        call report_fault
        call paging_off
        clts
        ret

task_m:
        mov eax, cr3
        mov [tm_info], eax
        mov eax, [OTHER_LINEAR]
        mov [tm_info + 4], eax
        iretd

; --- task-switch faults ---------------------------------------------------------------
task_fault_cases:
        mov edi, tss_g
        mov eax, task_g
        mov ebx, task_stacks + 3 * 4096
        call init_task
        SET_DESC SEL_TSS_G, tss_g, TSS_SIZE - 1, ACC_TSS, 0
        SET_IDT_GATE VEC_TASKGATE, 0, SEL_TSS_G, GATE_TASK

        CASE "iret with NT to a task that is not busy"
        mov eax, [tss + TSS_LINK]
        mov [saved_link], eax
        mov dword [tss + TSS_LINK], SEL_TSS_G
        call try_iret_nt
        mov eax, [saved_link]
        mov [tss + TSS_LINK], eax
        call report_fault

        USER_CASE "jmp to a DPL 0 TSS from ring 3", user_jmp_tss, EFLAGS_BASE
        USER_CASE "int through a DPL 0 task gate from ring 3", user_int_taskgate, EFLAGS_BASE
        CASE "ltr of a busy TSS"
        mov ax, SEL_TSS
        TRY
        ltr ax
        CATCH
        call report_fault
        ret

task_g:
        FAIL "task G ran"

user_jmp_tss:
        USER_TRY jmp SEL_TSS_G | 3:0
user_int_taskgate:
        USER_TRY int VEC_TASKGATE
