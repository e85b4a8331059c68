; v86: virtual-8086 mode.
;   Real-mode code is copied below 1 MiB and entered by IRET with VM=1.
;   With IOPL=0, INT n, CLI and STI fault (#GP(0)) to a ring-0 monitor that
;   emulates them: INT 0x10 prints AL, INT 0x20 leaves v86 mode.
;   With IOPL=3, INT n goes through the IDT (DPL 3 gates; the pushed frame
;   holds the v86 segment registers), and an INT to a DPL 0 gate raises
;   #GP(vector*8+2). IN/OUT always use the TSS I/O bitmap in v86 mode:
;   port 0x3FF (COM1 scratch) is allowed, 0x3FE is not (the monitor emulates it).
; This image masks the 8259 PIC (0xFF to ports 0x21, 0xA1): the IOPL=3 run
; starts with IF=1 and clears it with CLI.
%include "lib/kernel.inc"

V86_BASE        equ 0x20000             ; the real-mode code, CS = 0x2000
V86_CS          equ V86_BASE >> 4
V86_DS          equ 0x2100
V86_SS          equ 0x2200
V86_SP          equ 0x1000
EFLAGS_BASE     equ 0x002
EFLAGS_IF       equ 0x200
EFLAGS_IOPL3    equ 0x3000
EFLAGS_VM       equ 0x20000
ALLOWED_PORT    equ 0x3FF
DENIED_PORT     equ 0x3FE

; v86 frame beyond the ring-3 one
FR_V86_ES       equ 76
FR_V86_DS       equ 80
FR_V86_FS       equ 84
FR_V86_GS       equ 88

[section .bss]
alignb 4
v86_saved_esp:  resd 1
v86_regs:       resd 4                  ; AX, BX, CX, DX at exit
count_int10:    resd 1
count_cli_sti:  resd 1
count_in:       resd 1
last_in_port:   resd 1
gate_error:     resd 1
idt_frame:      resd 9                  ; EIP CS EFLAGS ESP SS ES DS FS GS
idt_handler_ds: resd 1

[section .text]
main:
        mov al, 0xFF
        out 0x21, al
        out 0xA1, al
        mov esi, v86_code               ; the real-mode code, below 1 MiB
        mov edi, V86_BASE
        mov ecx, v86_code_end - v86_code
        rep movsb
        mov eax, ALLOWED_PORT
        btr [tss_iomap], eax
        mov dword [isr_hooks + 13 * 4], v86_monitor
        SET_IDT_GATE 0x20, v86_exit_isr, SEL_CODE0, GATE_INT3
        SET_IDT_GATE 0x30, v86_int30_isr, SEL_CODE0, GATE_INT3
        SET_IDT_GATE 0x31, v86_int30_isr, SEL_CODE0, GATE_INT0

        PUTSLN "v86 with IOPL=0:"
        mov eax, prog_iopl0 - v86_code
        mov ebx, EFLAGS_BASE
        call run_v86
        call print_exit
        PUTSLN "v86 with IOPL=3:"
        mov eax, prog_iopl3 - v86_code
        mov ebx, EFLAGS_BASE | EFLAGS_IOPL3 | EFLAGS_IF
        call run_v86
        call print_exit
        PUTS "  int 0x30 through the IDT: eflags="
        PHEX [idt_frame + 8]
        PUTS " cs:ip="
        PHEX16 [idt_frame + 4]
        PUTS ":"
        PHEX16 [idt_frame]
        PUTS " ss:sp="
        PHEX16 [idt_frame + 16]
        PUTS ":"
        PHEX16 [idt_frame + 12]
        NL
        PUTS "  pushed es="
        PHEX16 [idt_frame + 20]
        PUTS " ds="
        PHEX16 [idt_frame + 24]
        PUTS " fs="
        PHEX16 [idt_frame + 28]
        PUTS " gs="
        PHEX16 [idt_frame + 32]
        PUTS " handler ds on entry="
        PHEX16 [idt_handler_ds]
        NL
        PUTS "  int 0x31 (DPL 0 gate): #GP error="
        PHEX [gate_error]
        NL
        ret

print_exit:
        PUTS "  exit: ax="
        PHEX16 [v86_regs]
        PUTS " bx="
        PHEX16 [v86_regs + 4]
        PUTS " cx="
        PHEX16 [v86_regs + 8]
        PUTS " dx="
        PHEX16 [v86_regs + 12]
        NL
        PUTS "  monitor: int 0x10="
        PDEC [count_int10]
        PUTS " cli/sti="
        PDEC [count_cli_sti]
        PUTS " in="
        PDEC [count_in]
        PUTS " last port="
        PHEX16 [last_in_port]
        NL
        xor eax, eax
        mov [count_int10], eax
        mov [count_cli_sti], eax
        mov [count_in], eax
        ret

; run_v86: EAX = IP (CS = V86_CS), EBX = EFLAGS (VM is added). Returns when
; the v86 code executes INT 0x20, with its AX..DX in v86_regs.
run_v86:
        pushad
        mov [v86_saved_esp], esp
        push 0                          ; GS
        push 0                          ; FS
        push V86_DS                     ; DS
        push V86_DS                     ; ES
        push V86_SS
        push V86_SP
        or ebx, EFLAGS_VM
        push ebx
        push V86_CS
        push eax
        iretd

; v86_leave: EAX, EBX, ECX, EDX = the v86 registers; back to run_v86's caller
v86_leave:
        mov [ss:v86_regs], eax
        mov [ss:v86_regs + 4], ebx
        mov [ss:v86_regs + 8], ecx
        mov [ss:v86_regs + 12], edx
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov esp, [v86_saved_esp]
        popad
        ret

v86_exit_isr:                           ; INT 0x20 through the IDT (IOPL 3)
        jmp v86_leave

v86_int30_isr:                          ; INT 0x30 through the IDT (IOPL 3)
        push eax
        mov eax, ds
        mov [ss:idt_handler_ds], eax
        mov ax, SEL_DATA0
        mov ds, ax
        push ecx
        xor ecx, ecx
.copy:  mov eax, [esp + 8 + ecx * 4]
        mov [idt_frame + ecx * 4], eax
        inc ecx
        cmp ecx, 9
        jb .copy
        pop ecx
        pop eax
        iretd                           ; back to v86: the frame has VM=1

; v86_monitor: #GP hook. EBP = frame. Emulates the instruction at CS:IP.
v86_monitor:
        test dword [ebp + FR_EFLAGS], EFLAGS_VM
        jz .not_v86
        mov eax, [ebp + FR_ERROR]
        test eax, eax
        jnz .gate                       ; INT n to a gate with DPL < 3
        movzx esi, word [ebp + FR_CS]
        shl esi, 4
        movzx eax, word [ebp + FR_EIP]
        add esi, eax                    ; linear address of the instruction
        mov al, [esi]
        cmp al, 0xCD
        je .int
        cmp al, 0xFA
        je .cli_sti
        cmp al, 0xFB
        je .cli_sti
        cmp al, 0xEC
        je .in_dx
        PUTS "v86 monitor: opcode "
        PHEX8 al
        NL
        FAIL "v86 monitor: unexpected instruction"
.int:   mov al, [esi + 1]
        cmp al, 0x10
        je .int10
        cmp al, 0x20
        je .exit
        FAIL "v86 monitor: unexpected int"
.int10: mov al, [ebp + FR_EAX]
        call putc
        inc dword [count_int10]
        add dword [ebp + FR_EIP], 2
        jmp .handled
.exit:  mov eax, [ebp + FR_EAX]
        mov ebx, [ebp + FR_EBX]
        mov ecx, [ebp + FR_ECX]
        mov edx, [ebp + FR_EDX]
        jmp v86_leave
.cli_sti:
        inc dword [count_cli_sti]
        inc dword [ebp + FR_EIP]
        jmp .handled
.in_dx: mov eax, [ebp + FR_EDX]
        and eax, 0xFFFF
        mov [last_in_port], eax
        mov byte [ebp + FR_EAX], 0xEE   ; the emulated port reads 0xEE
        inc dword [count_in]
        inc dword [ebp + FR_EIP]
        jmp .handled
.gate:  mov [gate_error], eax
        add dword [ebp + FR_EIP], 2     ; skip the INT n
.handled:
        mov eax, 1
        ret
.not_v86:
        xor eax, eax
        ret

; --- the real-mode code (copied to V86_BASE) ------------------------------------
bits 16
v86_code:
prog_iopl0:
        mov si, message - v86_code
.print: cs lodsb
        test al, al
        jz .compute
        int 0x10                        ; -> monitor prints AL
        jmp .print
.compute:
        xor bx, bx                      ; BX = sum of squares 1..20
        mov cx, 20
.square:
        mov ax, cx
        mul cx
        add bx, ax
        loop .square
        mov [0x10], bx                  ; DS:0x10 ...
        mov ax, ds
        inc ax
        mov es, ax
        mov di, [es:0]                  ; ... is (DS+1):0
        cli                             ; -> monitor
        sti                             ; -> monitor
        mov dx, ALLOWED_PORT
        mov al, 0x33
        out dx, al                      ; allowed by the bitmap
        in al, dx
        mov ah, al
        mov dx, DENIED_PORT
        in al, dx                       ; -> monitor, reads 0xEE
        mov cx, ax
        mov ax, bx
        mov bx, di
        mov dx, es
        int 0x20                        ; -> monitor: leave
message:
        db "real-mode code says hi", 10, 0

prog_iopl3:
        cli                             ; IOPL 3: no trap, IF = 0
        mov ax, 0x1234
        int 0x30                        ; through the IDT and back
        int 0x31                        ; DPL 0 gate: #GP(0x18A) -> monitor
        mov dx, DENIED_PORT
        in al, dx                       ; the bitmap still applies
        mov cx, ax
        mov bx, sp
        mov dx, ss
        pushf
        pop ax
        int 0x20                        ; through the IDT: leave
v86_code_end:
bits 32
