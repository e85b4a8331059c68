; stack16: protected mode with a 16-bit stack segment (SS.B = 0).
;   Stack instructions address the stack with SP, keep ESP's upper half, and
;   store 16- or 32-bit values as the operand size says: PUSH/POP of registers,
;   segment registers and memory, PUSHA/POPA, CALL/RET near and far, ENTER/LEAVE,
;   INT/IRET through 32- and 16-bit gates, an exception frame, and POP SS, which
;   advances SP under the old SS.B. Each case starts from ESP = 5A5A0080 on a
;   64 KiB stack segment filled with EE and prints ESP, EBP, EAX, ECX and the
;   dwords at SS:60..7F (SS:FFF0..FFFF and 0000..000F for the wrap cases).
;   Last, an interrupt from ring 3 whose ring-0 stack (TSS SS0) is 16-bit: the
;   frame (dwords, 32-bit gate) goes below SP = ESP0's low word, and ESP keeps
;   the upper half of the ring-3 ESP. And ring 3 on a 16-bit stack: the INT
;   saves its whole ESP, and the IRET back sets only SP (ESP's upper half is
;   the ring-0 one's).
%include "lib/kernel.inc"
%include "lib/user.inc"

SEL_STK16       equ SEL_FREE + 0x00     ; data, B=0, base stk, limit FFFF
SEL_STK32       equ SEL_FREE + 0x08     ; data, B=1, base stk, limit FFFF
SEL_CODE16      equ SEL_FREE + 0x10     ; 16-bit code, base code16
SEL_STK16_R3    equ SEL_FREE + 0x18 | 3 ; ring-3 data, B=0, base stk, limit FFFF
INIT_ESP        equ 0x5A5A0080

[section .bss]
alignb 16
stk:            resb 0x10000
save_esp:       resd 1
r_esp:          resd 1
r_ebp:          resd 1
r_eax:          resd 1
r_ecx:          resd 1
h_esp:          resd 1                  ; ESP seen inside a handler or callee
mem16:          resd 2

[section .text]
main:
        SET_DESC SEL_STK16, stk, 0xFFFF, ACC_DATA0, FLG_16
        SET_DESC SEL_STK32, stk, 0xFFFF, ACC_DATA0, FLG_32
        SET_DESC SEL_CODE16, code16, 0xFFFF, ACC_CODE0, FLG_16
        SET_DESC SEL_STK16_R3, stk, 0xFFFF, ACC_DATA3, FLG_16
        SET_IDT_GATE 0x40, int32_handler, SEL_CODE0, GATE_INT0
        SET_IDT_GATE 0x41, code16.handler16 - code16, SEL_CODE16, 0x86 ; 16-bit interrupt gate
        SET_IDT_GATE 6, ud_handler, SEL_CODE0, GATE_INT0
        call t_push
        call t_pop
        call t_sreg
        call t_pop_ss
        call t_mem
        call t_pusha
        call t_popa
        call t_call
        call t_far
        call t_enter
        call t_enter16
        call t_enter_nested
        call t_leave
        call t_int
        call t_fault
        call t_wrap
        call t_ring3
        call t_ring3_stack16
        ret

; BEGIN: fill the stack segment, switch to SS = 16-bit with ESP = INIT_ESP
%macro BEGIN 0
        call fill_stack
        mov [save_esp], esp
        mov ax, SEL_STK16
        mov ss, ax
        mov esp, INIT_ESP
        xor eax, eax
        xor ebx, ebx
        xor ecx, ecx
        xor edx, edx
        xor esi, esi
        xor edi, edi
        xor ebp, ebp
%endmacro
; END "name": record, go back to the flat stack, print
%macro END 1
        mov [r_esp], esp
        mov [r_ebp], ebp
        mov [r_eax], eax
        mov [r_ecx], ecx
        mov ax, SEL_DATA0
        mov ss, ax
        mov esp, [save_esp]
        PUTS %1
        mov esi, 0x60
        call report
%endmacro

fill_stack:
        pushad
        mov edi, stk
        mov ecx, 0x10000 / 4
        mov eax, 0xEEEEEEEE
        cld
        rep stosd
        popad
        ret

; report: ESP EBP EAX ECX, then 8 dwords of the stack segment from ESI
report:
        PUTS " esp="
        PHEX [r_esp]
        PUTS " ebp="
        PHEX [r_ebp]
        PUTS " eax="
        PHEX [r_eax]
        PUTS " ecx="
        PHEX [r_ecx]
        NL
        PUTS "  ss:"
        mov eax, esi
        PHEX16 ax
        mov ecx, 8
.dw:    PUTS " "
        mov eax, esi
        and eax, 0xFFFF
        PHEX [stk + eax]
        add esi, 4
        dec ecx
        jnz .dw
        NL
        ret

; --- PUSH at both operand sizes --------------------------------------------
t_push:
        BEGIN
        mov eax, 0x11223344
        push eax
        push ax
        push dword 0x55667788
        push word 0x99AA
        push esp                        ; the value before the push
        END "push"
        ret

t_pop:
        BEGIN
        push dword 0xA1A2A3A4
        push word 0xB1B2
        mov ecx, 0xC0C0C0C0
        pop cx
        pop eax
        END "pop"
        ret

; --- segment registers -------------------------------------------------------
t_sreg:
        BEGIN
        push ds                         ; 4 bytes
        push word es                    ; 2 bytes
        mov ax, SEL_DATA0
        push ax
        pop fs                          ; 16-bit pop
        push dword SEL_DATA0
        pop gs                          ; 32-bit pop
        mov ax, fs
        mov cx, gs
        END "sreg"
        ret

; POP SS loading a 32-bit SS from a 16-bit stack: the stack pointer advances
; under the old SS.B, so SP wraps from FFFE to 0000 and ESP's upper half stays
t_pop_ss:
        BEGIN
        mov esp, 0x5A5AFFFE
        mov word [stk + 0xFFFE], SEL_STK32
        o16 pop ss
        mov eax, esp
        mov cx, SEL_STK16
        mov ss, cx
        mov esp, 0x5A5AFFFC
        mov dword [stk + 0xFFFC], 0xDEAD0000 | SEL_STK32
        pop ss                          ; o32: 4 bytes
        mov ecx, esp
        mov dx, SEL_STK16
        mov ss, dx
        END "pop ss"
        ret

; --- PUSH/POP memory ---------------------------------------------------------
t_mem:
        BEGIN
        mov dword [mem16], 0x13572468
        push dword [mem16]
        push word [mem16 + 2]
        pop word [mem16 + 4]
        pop dword [mem16]
        mov eax, [mem16]
        movzx ecx, word [mem16 + 4]
        END "push/pop mem"
        ret

; --- PUSHA/POPA ----------------------------------------------------------------
t_pusha:
        BEGIN
        mov eax, 0x0A0A0A0A
        mov ecx, 0x0C0C0C0C
        mov ebp, 0x0B0B0B0B
        pushad                          ; ESP pushed whole: 5A5A0080
        pushaw                          ; SP pushed: 0060
        END "pusha"
        mov esi, 0x40
        PUTS "pusha"
        call report
        ret

t_popa:
        BEGIN
        mov eax, 0x0A0A0A0A
        mov ecx, 0x0C0C0C0C
        mov ebp, 0x0B0B0B0B
        pushad
        xor eax, eax
        xor ecx, ecx
        xor ebp, ebp
        popad
        pushaw
        mov ax, 0x1111
        mov cx, 0x2222
        popaw
        END "popa"
        ret

; --- CALL/RET near and far -------------------------------------------------------
t_call:
        BEGIN
        call .callee                    ; pushes EIP (4 bytes) at SS:7C
        END "call/ret"
        PUTS "  callee esp="
        PHEX [h_esp]
        NL
        ret
.callee:
        mov [h_esp], esp
        ret

t_far:
        BEGIN
        call SEL_CODE0:.callee          ; CS and EIP, dwords
        push dword 0x12345678
        pop eax
        END "far call/retf"
        PUTS "  callee esp="
        PHEX [h_esp]
        NL
        call fill_stack
        mov [save_esp], esp
        mov ax, SEL_STK16
        mov ss, ax
        mov esp, INIT_ESP
        jmp SEL_CODE16:0                ; 16-bit code based at code16
.back:
        END "far call 16"
        PUTS "  callee esp="
        PHEX [h_esp]
        NL
        ret
.callee:
        mov [h_esp], esp
        retf

bits 16
code16:
        o32 call dword SEL_CODE16:(.callee32 - code16) ; CS and EIP as dwords
        call word SEL_CODE16:(.callee16 - code16)      ; as words
        jmp dword SEL_CODE0:t_far.back
.callee32:
        o32 retf
.callee16:
        mov [dword h_esp], esp
        retf
.int16:
        int 0x41
        jmp dword SEL_CODE0:t_int.back16
.handler16:
        mov [dword h_esp], esp
        iret
bits 32

; --- ENTER/LEAVE ------------------------------------------------------------------
t_enter:
        BEGIN
        mov ebp, 0x77770040
        enter 8, 0                      ; EBP <- ESP after the push: the whole ESP
        END "enter"
        ret

t_enter16:
        BEGIN
        mov ebp, 0x77770040
        o16 enter 8, 0                  ; BP only
        END "enter o16"
        ret

t_enter_nested:
        BEGIN
        mov dword [stk + 0x3C], 0x0BADF00D ; the enclosing frame's pointer
        mov dword [stk + 0x38], 0x0CAFE000
        mov ebp, 0x77770040
        enter 4, 3                      ; copies SS:3C and SS:38, pushes FrameTemp
        END "enter nested"
        ret

t_leave:
        BEGIN
        mov dword [stk + 0x50], 0x44445555
        mov ebp, 0x12340050
        leave                           ; SP <- BP, EBP <- pop: ESP's upper half stays
        END "leave"
        ret

; --- INT/IRET through 32- and 16-bit gates ------------------------------------------
t_int:
        BEGIN
        int 0x40
        END "int 32-bit gate"
        PUTS "  handler esp="
        PHEX [h_esp]
        NL
        BEGIN
        jmp SEL_CODE16:(code16.int16 - code16) ; INT from 16-bit code: the frame holds IP
.back16:
        END "int 16-bit gate"
        PUTS "  handler esp="
        PHEX [h_esp]
        NL
        ret

int32_handler:
        mov [h_esp], esp
        iretd


; --- an exception frame on the 16-bit stack ----------------------------------------
t_fault:
        BEGIN
        ud2
        END "fault frame"
        PUTS "  handler esp="
        PHEX [h_esp]
        NL
        ret

ud_handler:
        mov [h_esp], esp
        push ebx
        movzx ebx, sp
        add dword [ss:ebx + 4], 2       ; return past UD2
        and dword [ss:ebx + 12], ~0x10000 ; RF (1 in a fault's image) is strict's subject; QEMU leaves it 0
        pop ebx
        iretd

; --- wrap at 64 KiB: a push at SP = 0002 lands at FFFE.. -----------------------------
t_wrap:
        BEGIN
        mov esp, 0x5A5A0002
        push word 0x1234                ; at 0000
        push word 0x5678                ; at FFFE
        push dword 0x9ABCDEF0           ; at FFFA
        END "wrap"
        mov esi, 0xFFF0
        PUTS "wrap"
        call report
        ret

; --- INT from ring 3 to a ring-0 stack with B = 0 ---------------------------------------
SEL_STK16_R0    equ SEL_STK16

t_ring3:
        call fill_stack
        SET_IDT_GATE 0x42, ring0_handler, SEL_CODE0, GATE_INT3
        mov dword [tss + TSS_SS0], SEL_STK16_R0
        mov dword [tss + TSS_ESP0], 0x00000080
        mov eax, ring3_code
        mov ebx, EFLAGS_BASE
        call run_user
        mov eax, [h_esp]
        mov [r_esp], eax
        mov dword [r_ebp], 0
        mov dword [r_eax], 0
        mov dword [r_ecx], 0
        PUTS "int from ring 3"
        mov esi, 0x60
        call report
        ret

ring3_code:
        int 0x42
        USER_EXIT

ring0_handler:                          ; CPL 0 on the 16-bit stack; DS is still the ring-3 flat data
        mov [h_esp], esp
        mov dword [tss + TSS_SS0], SEL_DATA0
        mov dword [tss + TSS_ESP0], isr_stack_top
        iretd

; --- ring 3 on a 16-bit stack: INT to ring 0 and IRET back ------------------------------
t_ring3_stack16:
        call fill_stack
        SET_IDT_GATE 0x43, ring0_frame, SEL_CODE0, GATE_INT3
        mov eax, ring3_stack16
        mov ebx, EFLAGS_BASE
        call run_user
        mov dword [r_ebp], 0
        mov dword [r_ecx], 0
        PUTS "ring 3, 16-bit stack"
        mov esi, 0x60
        call report
        PUTS "  frame ss:esp="
        PHEX [h_frame + 16]
        PUTS ":"
        PHEX [h_frame + 12]
        NL
        ret

ring3_stack16:
        mov ax, SEL_STK16_R3
        mov ss, ax
        mov esp, INIT_ESP
        push dword 0x0B0B0B0B            ; at SS:7C
        int 0x43
        mov [r_esp], esp                ; SP from the frame, ESP's upper half from ring 0
        mov ax, SEL_DATA3
        mov ss, ax
        mov esp, user_stack_top
        mov eax, 0
        USER_EXIT

ring0_frame:                            ; ring 0 on isr_stack: copy the 5-dword frame
        push esi
        push edi
        push ecx
        lea esi, [esp + 12]
        mov edi, h_frame
        mov ecx, 5
        cld
        rep movsd
        pop ecx
        pop edi
        pop esi
        iretd

[section .bss]
h_frame:        resd 5
