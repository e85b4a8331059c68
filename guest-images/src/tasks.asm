; tasks: hardware task switching.
;   JMP to a TSS and back (twice: the second time task B resumes where it
;   left), CALL to a TSS and IRET back through NT and the back link, CALL to
;   a busy task (#GP), a task gate in the IDT for INT 0x90 and one for #GP
;   (its handler task gets the error code on its stack and redirects the
;   faulting task). Busy bits are printed along the way; each task prints
;   the registers it was started with.
%include "lib/kernel.inc"
%include "lib/task.inc"

SEL_TSS_B       equ SEL_FREE + 0x00
SEL_TSS_C       equ SEL_FREE + 0x08
SEL_TSS_D       equ SEL_FREE + 0x10
SEL_TSS_E       equ SEL_FREE + 0x18
VEC_TASK        equ 0x90

[section .bss]
alignb 128
tss_b:          resb TSS_SIZE
alignb 128
tss_c:          resb TSS_SIZE
alignb 128
tss_d:          resb TSS_SIZE
alignb 128
tss_e:          resb TSS_SIZE
alignb 16
task_stacks:    resb 4 * 4096
saved_gp_gate:  resd 2
regs_seen:      resd 8

; INIT_TASK tss, selector, entry, stack, eax-pattern
%macro INIT_TASK 5
        mov edi, %1
        mov eax, %3
        mov ebx, %4
        mov edx, %5
        call init_pattern_task
        SET_DESC %2, %1, TSS_SIZE - 1, ACC_TSS, 0
%endmacro

[section .text]
main:
        INIT_TASK tss_b, SEL_TSS_B, task_b, task_stacks + 4096, 0xB0000000
        INIT_TASK tss_c, SEL_TSS_C, task_c, task_stacks + 2 * 4096, 0xC0000000
        INIT_TASK tss_d, SEL_TSS_D, task_d, task_stacks + 3 * 4096, 0xD0000000
        INIT_TASK tss_e, SEL_TSS_E, task_e, task_stacks + 4 * 4096, 0xE0000000
        SET_IDT_GATE VEC_TASK, 0, SEL_TSS_D, GATE_TASK
        call test_jmp
        call test_call
        call test_task_gate
        call test_fault_task
        ret

; init_pattern_task: init_task (EDI = TSS, EAX = EIP, EBX = ESP), then the
; GPRs from EDX = pattern (EAX = pattern+0xA, ECX = +0xC, EDX = +0xD,
; EBX = +0xB, EBP = +0xBB, ESI = +0x51, EDI = +0xD1).
init_pattern_task:
        call init_task
        pushad
        lea eax, [edx + 0xA]
        mov [edi + TSS_EAX], eax
        lea eax, [edx + 0xC]
        mov [edi + TSS_ECX], eax
        lea eax, [edx + 0xD]
        mov [edi + TSS_EDX], eax
        lea eax, [edx + 0xB]
        mov [edi + TSS_EBX], eax
        lea eax, [edx + 0xBB]
        mov [edi + TSS_EBP], eax
        lea eax, [edx + 0x51]
        mov [edi + TSS_ESI], eax
        lea eax, [edx + 0xD1]
        mov [edi + TSS_EDI], eax
        popad
        ret

EFLAGS_BASE     equ 0x002
EFLAGS_NT       equ 0x4000

; print_task_state: the current task's TR, EFLAGS, segments, and the GPRs it
; started with (saved by PUSHAD just before the call)
print_task_state:
        pushad
        lea esi, [esp + 32 + 4]                 ; the caller's PUSHAD frame
        mov edi, regs_seen
        mov ecx, 8
        rep movsd
        popad
        PUTS "  tr="
        str ax
        PHEX16 ax
        PUTS " eflags="
        pushfd
        pop eax
        PHEX eax
        PUTS " cs="
        PSEG cs
        PUTS " ss="
        PSEG ss
        PUTS " ds="
        PSEG ds
        PUTS " gs="
        PSEG gs
        NL
        PUTS "  eax="
        PHEX [regs_seen + 28]
        PUTS " ebx="
        PHEX [regs_seen + 16]
        PUTS " ecx="
        PHEX [regs_seen + 24]
        PUTS " edx="
        PHEX [regs_seen + 20]
        NL
        PUTS "  esi="
        PHEX [regs_seen + 4]
        PUTS " edi="
        PHEX [regs_seen + 0]
        PUTS " ebp="
        PHEX [regs_seen + 8]
        PUTS " esp=task_stacks+"
        mov eax, [regs_seen + 12]
        sub eax, task_stacks
        PHEX16 ax
        NL
        ret

; print_busy: busy bit (TSS type 0xB vs 0x9) of every TSS descriptor
print_busy:
        pushad
        PUTS "  busy:"
        xor ecx, ecx
.next:  mov al, ' '
        call putc
        mov al, [busy_letters + ecx]
        call putc
        mov al, '='
        call putc
        movzx ebx, word [busy_selectors + ecx * 2]
        mov al, [gdt + ebx + 5]
        shr al, 1
        and al, 1
        add al, '0'
        call putc
        inc ecx
        cmp ecx, 5
        jb .next
        NL
        popad
        ret

[section .rodata]
busy_selectors: dw SEL_TSS, SEL_TSS_B, SEL_TSS_C, SEL_TSS_D, SEL_TSS_E
busy_letters:   db "ABCDE"
[section .text]

; --- JMP --------------------------------------------------------------------
test_jmp:
        mov esi, 0x5A5A5A5A
        PUTSLN "task A: jmp to task B"
        jmp SEL_TSS_B:0
        PUTSLN "task A: back from task B"
        CHECK esi, 0x5A5A5A5A, "ESI of task A not restored"
        call print_busy
        mov eax, [tss_b + TSS_EIP]
        CHECK eax, task_b.after_first, "task B saved EIP"
        PUTS "  task B saved: eip=after its jmp eax="
        PHEX [tss_b + TSS_EAX]
        NL
        PUTSLN "task A: jmp to task B again"
        jmp SEL_TSS_B:0
        PUTSLN "task A: back from task B again"
        ret

task_b:
        pushad
        PUTSLN "task B: started by jmp"
        call print_task_state
        call print_busy
        popad
        add eax, 0x1000
        jmp SEL_TSS:0
.after_first:
        PUTS "task B: resumed, eax="
        PHEX eax
        NL
        jmp SEL_TSS:0

; --- CALL and IRET -------------------------------------------------------------
test_call:
        PUTSLN "task A: call task C"
        call SEL_TSS_C:0
        PUTS "task A: back from task C, eflags.nt="
        pushfd
        pop eax
        shr eax, 14
        and eax, 1
        PDEC eax
        PUTS " eax="
        PHEX [tss_c + TSS_EAX]
        NL
        call print_busy
        ret

task_c:
        pushad
        PUTSLN "task C: started by call"
        call print_task_state
        PUTS "  back link="
        PHEX16 [tss_c + TSS_LINK]
        NL
        call print_busy
        PUTS "  call to busy task A: "
        TRY
        call SEL_TSS:0
        CATCH
        call report_fault
        popad
        mov eax, 0xC0C0C0C0
        iretd

; --- task gate for INT 0x90 ------------------------------------------------------
test_task_gate:
        PUTSLN "task A: int 0x90 (task gate to D)"
        int VEC_TASK
        PUTSLN "task A: int 0x90 again"
        int VEC_TASK
        PUTS "task A: back, task D ecx="
        PHEX [tss_d + TSS_ECX]
        NL
        call print_busy
        ret

task_d:                                 ; a task gate handler: run, IRET, loop
        pushad
        PUTSLN "task D: entered through the task gate"
        call print_task_state
        PUTS "  back link="
        PHEX16 [tss_d + TSS_LINK]
        NL
        call print_busy
        popad
.again: inc ecx
        iretd
        PUTSLN "task D: entered again, after its iret"
        jmp .again

; --- #GP through a task gate ---------------------------------------------------------
test_fault_task:
        mov eax, [idt + 13 * 8]
        mov [saved_gp_gate], eax
        mov eax, [idt + 13 * 8 + 4]
        mov [saved_gp_gate + 4], eax
        SET_IDT_GATE 13, 0, SEL_TSS_E, GATE_TASK
        PUTSLN "task A: mov ds, 0x103 with #GP on a task gate to E"
        mov ax, 0x103
.fault: mov ds, ax
        PUTSLN "task A: faulting instruction skipped by task E"
        mov eax, [saved_gp_gate]
        mov [idt + 13 * 8], eax
        mov eax, [saved_gp_gate + 4]
        mov [idt + 13 * 8 + 4], eax
        call print_busy
        ret

task_e:
        pop eax                         ; the error code, pushed on this task's stack
        PUTS "task E: #GP error="
        PHEX eax
        PUTS " back link="
        PHEX16 [tss_e + TSS_LINK]
        PUTS " faulting eip "
        mov eax, [tss + TSS_EIP]
        cmp eax, test_fault_task.fault
        jne .bad
        PUTSLN "ok"
        add dword [tss + TSS_EIP], 2    ; skip the 2-byte mov ds, ax
        iretd
        jmp task_e
.bad:   FAIL "task E: wrong faulting EIP"
