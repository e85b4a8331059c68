; pcshell: a tiny shell on COM1, booted from sector 0 of a raw disk image.
; Receive interrupts (UART IER data-ready) arrive on IRQ 4 through the I/O APIC
; while the local APIC timer ticks every 10 ms. Commands, one per line:
;   echo TEXT   prints TEXT
;   sleep       waits for 10 timer ticks (100 ms), then says so
;   exit        PASS and leave through the debug-exit port
; Anything else: "unknown command: ...".

%define BOOT_MESSAGE "pcshell: sector 0 running"
IMAGE_SECTORS   equ 32
LAPIC           equ 0xFEE00000
IOAPIC          equ 0xFEC00000
VEC_TIMER       equ 0x40
VEC_COM1        equ 0x44
VEC_SPURIOUS    equ 0xFF
LINE_MAX        equ 120

%include "lib/bootsector.inc"

[section .bss]
ticks:          resd 1
rx_head:        resd 1                  ; bytes the interrupt handler stored (ring of 256)
rx_tail:        resd 1                  ; bytes the shell took
rx_ring:        resb 256
line_len:       resd 1
line:           resb LINE_MAX + 1
alignb 16
                resb 4096
stack_top:

[section .text]
timer_isr:
        inc dword [ticks]
        mov dword [LAPIC + 0xB0], 0
        iretd

; every received byte goes into the ring (a full ring drops it)
com1_isr:
        push eax
        push edx
        push ebx
.more:  mov dx, COM1 + 5
        in al, dx
        test al, 1
        jz .done
        mov dx, COM1
        in al, dx
        mov ebx, [rx_head]
        mov edx, ebx
        sub edx, [rx_tail]
        cmp edx, 256
        jae .more
        movzx ebx, bl
        mov [rx_ring + ebx], al
        inc dword [rx_head]
        jmp .more
.done:  mov dword [LAPIC + 0xB0], 0
        pop ebx
        pop edx
        pop eax
        iretd

spurious_isr:
        iretd

; starts_with: ESI = line, EDI = word (NUL-terminated) -> ZF=1 if line starts with it; ESI after it
starts_with:
.l:     mov al, [edi]
        test al, al
        jz .yes
        cmp al, [esi]
        jne .no
        inc esi
        inc edi
        jmp .l
.yes:   cmp al, al
.no:    ret

pmode:
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, stack_top
        call serial_init
        call idt_init
        SET_IDT_GATE VEC_TIMER, timer_isr, SEL_CODE0, GATE_INT0
        SET_IDT_GATE VEC_COM1, com1_isr, SEL_CODE0, GATE_INT0
        SET_IDT_GATE VEC_SPURIOUS, spurious_isr, SEL_CODE0, GATE_INT0
        mov al, 0xFF
        out 0xA1, al
        out 0x21, al
        mov dword [LAPIC + 0xF0], 0x100 | VEC_SPURIOUS
        mov dword [LAPIC + 0x3E0], 0xB                  ; divide by 1
        mov dword [LAPIC + 0x320], (1 << 17) | VEC_TIMER
        mov dword [LAPIC + 0x380], 10000000             ; 10 ms at 1 GHz
        mov dword [IOAPIC], 0x10 + 4 * 2                ; IRQ 4 -> VEC_COM1, edge, APIC 0
        mov dword [IOAPIC + 0x10], VEC_COM1
        mov dword [IOAPIC], 0x11 + 4 * 2
        mov dword [IOAPIC + 0x10], 0
        mov dx, COM1 + 1
        mov al, 1                                       ; IER: data ready
        out dx, al
        PUTSLN "pcshell: ready"

.prompt:
        PUTS "$ "
        mov dword [line_len], 0
.wait:  cli                             ; the next byte, or sleep until one arrives
        mov ebx, [rx_tail]
        cmp ebx, [rx_head]
        jne .byte
        sti
        hlt
        jmp .wait
.byte:  sti
        movzx eax, bl
        mov al, [rx_ring + eax]
        inc dword [rx_tail]
        cmp al, 13
        je .eol
        cmp al, 10
        je .eol
        mov ebx, [line_len]
        cmp ebx, LINE_MAX
        jae .wait
        mov [line + ebx], al
        inc dword [line_len]
        jmp .wait
.eol:   mov ebx, [line_len]
        test ebx, ebx
        jz .wait                        ; empty line (CR LF pairs)
        mov byte [line + ebx], 0
.command:
        PUTS "> "
        mov esi, line
        call puts
        NL
        mov esi, line
        mov edi, cmd_echo
        call starts_with
        jne .not_echo
        call puts
        NL
        jmp .next
.not_echo:
        mov esi, line
        mov edi, cmd_sleep
        call starts_with
        jne .not_sleep
        mov dword [ticks], 0
.nap:   cli
        cmp dword [ticks], 10
        jae .woke
        sti
        hlt
        jmp .nap
.woke:  sti
        PUTSLN "slept 10 ticks"
        jmp .next
.not_sleep:
        mov esi, line
        mov edi, cmd_exit
        call starts_with
        jne .unknown
        jmp exit_pass
.unknown:
        PUTS "unknown command: "
        mov esi, line
        call puts
        NL
.next:  jmp .prompt

[section .rodata]
cmd_echo:       db "echo ", 0
cmd_sleep:      db "sleep", 0
cmd_exit:       db "exit", 0
