; sleeper: works, then sleeps until an interrupt, over and over. It remaps the
; 8259 PICs to vectors 0x20-0x2F, unmasks only IRQ0, and programs PIT channel 0
; at `hz=N` (default 100, at least 19); `hz=0` leaves the timer off and IRQ0
; masked, so only an interrupt a host injects wakes it. Each round it runs `work=N` loop iterations (default
; 200000), prints `awake K`, and halts with interrupts on until any
; interrupt arrives (the timer, or one a host injects at vector 0x20). With
; `rounds=R` it passes after R rounds (0, the default, runs forever).
; It needs a PC's 8259 and 8254 (`trapeze run --boot kernel`, or under
; --config); on the bare machine nothing wakes it after `awake 1`. Its first
; line says so.
%include "lib/kernel.inc"
%include "lib/cmdline.inc"

PIT_HZ          equ 1193182
IRQ0_VECTOR     equ 0x20

[section .data]
hz:             dd 100
work:           dd 200000
rounds:         dd 0
ticks:          dd 0

[section .rodata]
key_hz:         db "hz=", 0
key_work:       db "work=", 0
key_rounds:     db "rounds=", 0

[section .text]
; cmdline value of key ESI into [EDI] when present and nonzero
option:
        call cmdline_uint
        jc .none
        test eax, eax
        jz .none
        mov [edi], eax
.none:  ret

timer_isr:
        inc dword [ticks]
        push eax
        mov al, 0x20                    ; non-specific EOI to the master PIC
        out 0x20, al
        pop eax
        iretd

main:
        PUTS "sleeper: wakes on the 8254 timer: run it on a PC (trapeze run --boot kernel sleeper.elf)"
        NL
        mov esi, key_hz
        call cmdline_uint
        jc .no_hz
        mov [hz], eax
.no_hz:
        mov esi, key_work
        mov edi, work
        call option
        mov esi, key_rounds
        call cmdline_uint
        jc .no_rounds
        mov [rounds], eax
.no_rounds:
        SET_IDT_GATE IRQ0_VECTOR, timer_isr, SEL_CODE0, GATE_INT0
        ; ICW1-ICW4: edge triggered, cascade, vectors 0x20 and 0x28, 8086 mode
        mov al, 0x11
        out 0x20, al
        out 0xA0, al
        mov al, IRQ0_VECTOR
        out 0x21, al
        mov al, IRQ0_VECTOR + 8
        out 0xA1, al
        mov al, 4
        out 0x21, al
        mov al, 2
        out 0xA1, al
        mov al, 1
        out 0x21, al
        out 0xA1, al
        mov al, 0xFF                    ; nothing on the slave
        out 0xA1, al
        cmp dword [hz], 0
        jne .timer
        out 0x21, al                    ; hz=0: no timer, every IRQ masked
        jmp .timer_done
.timer: mov al, 0xFE                    ; only IRQ0
        out 0x21, al
        ; PIT channel 0, lobyte/hibyte, mode 2 (rate generator)
        mov eax, PIT_HZ
        xor edx, edx
        div dword [hz]
        mov ecx, eax
        mov al, 0x34
        out 0x43, al
        mov al, cl
        out 0x40, al
        mov al, ch
        out 0x40, al
.timer_done:

        xor ebx, ebx                    ; rounds done
.round: mov ecx, [work]
        xor ebp, ebp
.work:  add ebp, ecx
        rol ebp, 3
        dec ecx
        jnz .work
        inc ebx
        PUTS "awake "
        PDEC ebx
        NL
        mov eax, [rounds]
        test eax, eax
        jz .sleep
        cmp ebx, eax
        jae .done
.sleep: sti
        hlt
        cli
        jmp .round
.done:  ret
