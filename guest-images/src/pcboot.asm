; pcboot: a PC guest booted from sector 0 of a raw disk image (flat binary,
; built as pcboot.img). The boot sector prints on the screen with INT 10h,
; loads the rest of the image with INT 13h (EDD), enables A20 through port 92h
; and enters protected mode. Then, with the 8259s masked: it finds and checks
; the MP tables; enables the local APIC; routes IRQ 14 and IRQ 0 through the
; I/O APIC; IDENTIFYs the ATA master and writes/reads a sector with PIO
; (rep outsw / rep insd), one IRQ 14 per block; takes periodic and one-shot
; local APIC timer interrupts and 8254 interrupts through the I/O APIC.

%define BOOT_MESSAGE "pcboot: sector 0 running"
IMAGE_SECTORS   equ 48              ; sectors after the boot sector that hold the rest
SCRATCH_LBA     equ 100
LAPIC           equ 0xFEE00000
IOAPIC          equ 0xFEC00000
VEC_TIMER       equ 0x40            ; local APIC timer
VEC_PIT         equ 0x41            ; IRQ 0 via the I/O APIC
VEC_IDE         equ 0x42            ; IRQ 14 via the I/O APIC
VEC_SPURIOUS    equ 0xFF

%include "lib/bootsector.inc"

[section .bss]
apic_ticks:     resd 1
pit_ticks:      resd 1
ide_irqs:       resd 1
sector_buf:     resb 512
pattern_buf:    resb 512
alignb 16
                resb 4096
stack_top:

[section .text]
apic_timer_isr:
        inc dword [apic_ticks]
        mov dword [LAPIC + 0xB0], 0     ; EOI
        iretd
pit_isr:
        inc dword [pit_ticks]
        mov dword [LAPIC + 0xB0], 0
        iretd
ide_isr:
        push eax
        push edx
        inc dword [ide_irqs]
        mov dx, 0x1F7                   ; reading status acknowledges the drive
        in al, dx
        mov dword [LAPIC + 0xB0], 0
        pop edx
        pop eax
        iretd
spurious_isr:
        iretd

; wait_counter: ESI = address of a counter, EAX = value to reach (interrupts on, HLT between)
wait_counter:
.again: cmp [esi], eax
        jae .done
        sti
        hlt
        cli
        jmp .again
.done:  ret

; ioapic_route: EAX = pin, EBX = vector (edge, active high, physical, APIC 0)
ioapic_route:
        push eax
        lea eax, [0x10 + eax * 2]
        mov [IOAPIC], eax
        mov [IOAPIC + 0x10], ebx
        inc eax
        mov [IOAPIC], eax
        mov dword [IOAPIC + 0x10], 0
        pop eax
        ret

; sum_bytes: ESI = start, ECX = length -> AL = 8-bit sum
sum_bytes:
        push esi
        push ecx
        xor eax, eax
.l:     add al, [esi]
        inc esi
        loop .l
        pop ecx
        pop esi
        ret

; find_mp_in: ESI = start, ECX = length -> ESI = floating pointer, ZF=1 when found
find_mp_in:
.l:     cmp dword [esi], '_MP_'
        jne .next
        push ecx
        mov ecx, 16
        call sum_bytes
        pop ecx
        test al, al
        jz .found
.next:  add esi, 16
        sub ecx, 16
        ja .l
        or esi, esi                     ; ZF=0: not found (ESI is never 0 here)
.found: ret

ata_wait_ready:                         ; until BSY clears
        push eax
        push edx
        mov dx, 0x1F7
.l:     in al, dx
        test al, 0x80
        jnz .l
        pop edx
        pop eax
        ret

; ata_command: EAX = LBA, CL = command, sector count 1, master
ata_command:
        push edx
        push eax
        call ata_wait_ready
        mov dx, 0x1F2
        mov al, 1
        out dx, al
        pop eax
        push eax
        inc dx                          ; 1F3 LBA 0-7
        out dx, al
        shr eax, 8
        inc dx
        out dx, al
        shr eax, 8
        inc dx
        out dx, al
        shr eax, 8
        and al, 0x0F
        or al, 0xE0                     ; LBA, master
        inc dx
        out dx, al
        mov al, cl
        inc dx
        out dx, al
        pop eax
        pop edx
        ret

pmode:
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov fs, ax
        mov gs, ax
        mov ss, ax
        mov esp, stack_top
        call serial_init
        PUTS "pcboot: protected mode, boot drive "
        movzx eax, byte [boot_drive]
        PHEX8 al
        NL
        call idt_init
        SET_IDT_GATE VEC_TIMER, apic_timer_isr, SEL_CODE0, GATE_INT0
        SET_IDT_GATE VEC_PIT, pit_isr, SEL_CODE0, GATE_INT0
        SET_IDT_GATE VEC_IDE, ide_isr, SEL_CODE0, GATE_INT0
        SET_IDT_GATE VEC_SPURIOUS, spurious_isr, SEL_CODE0, GATE_INT0
        mov al, 0xFF                    ; the 8259s stay masked: everything goes through the APICs
        out 0xA1, al
        out 0x21, al

        ; --- the MP tables: EBDA first KiB, last KiB of base memory, then the BIOS ROM
        movzx esi, word [0x40E]
        shl esi, 4
        mov ecx, 1024
        call find_mp_in
        jz .mp_found
        movzx esi, word [0x413]
        shl esi, 10
        sub esi, 1024
        mov ecx, 1024
        call find_mp_in
        jz .mp_found
        mov esi, 0xF0000
        mov ecx, 0x10000
        call find_mp_in
        jz .mp_found
        FAIL "no MP floating pointer"
.mp_found:
        mov edi, [esi + 4]              ; the configuration table
        cmp dword [edi], 'PCMP'
        je .pcmp
        FAIL "no PCMP signature"
.pcmp:  mov esi, edi
        movzx ecx, word [edi + 4]
        call sum_bytes
        test al, al
        jz .sum_ok
        FAIL "MP configuration table checksum"
.sum_ok:
        PUTS "mp: spec 1."
        movzx eax, byte [edi + 6]
        PDEC eax
        PUTS ", local APIC at "
        PHEX [edi + 0x24]
        NL
        ; walk the entries: count processors, note the I/O APIC and where IRQ 0 and 14 arrive
        movzx ecx, word [edi + 0x22]
        lea esi, [edi + 44]
        xor ebx, ebx                    ; processors
.entry: movzx eax, byte [esi]
        cmp eax, 0
        jne .not_cpu
        inc ebx
        add esi, 20
        jmp .next
.not_cpu:
        cmp eax, 2
        jne .not_ioapic
        PUTS "mp: I/O APIC id "
        movzx eax, byte [esi + 1]
        PDEC eax
        PUTS " at "
        PHEX [esi + 4]
        NL
        jmp .short
.not_ioapic:
        cmp eax, 3
        jne .short
        cmp byte [esi + 1], 0           ; INT type only
        jne .short
        movzx eax, byte [esi + 5]       ; source bus IRQ
        cmp eax, 0
        je .irq
        cmp eax, 14
        jne .short
.irq:   PUTS "mp: ISA IRQ "
        PDEC eax
        PUTS " -> INTIN "
        movzx eax, byte [esi + 7]
        PDEC eax
        NL
.short: add esi, 8
.next:  dec ecx
        jnz .entry
        PUTS "mp: processors "
        PDEC ebx
        NL

        ; --- local APIC
        mov dword [LAPIC + 0xF0], 0x100 | VEC_SPURIOUS
        PUTS "lapic: version "
        mov eax, [LAPIC + 0x30]
        and eax, 0xFF
        PHEX8 al
        PUTS ", svr "
        mov eax, [LAPIC + 0xF0]         ; APIC registers: 32-bit accesses only
        PHEX16 ax
        PUTS ", tpr "
        mov dword [LAPIC + 0x80], 0x20
        mov eax, [LAPIC + 0x80]
        PHEX8 al
        mov dword [LAPIC + 0x80], 0
        NL

        ; --- the I/O APIC: version register, then IRQ 14 and IRQ 0
        mov dword [IOAPIC], 1
        mov eax, [IOAPIC + 0x10]
        shr eax, 16
        and eax, 0xFF
        inc eax
        PUTS "ioapic: "
        PDEC eax
        PUTSLN " redirection entries"
        mov eax, 14
        mov ebx, VEC_IDE
        call ioapic_route

        ; --- ATA: IDENTIFY the master
        xor eax, eax
        mov cl, 0xEC
        call ata_command
        mov esi, ide_irqs
        mov eax, 1
        call wait_counter
        mov edi, sector_buf
        mov ecx, 256
        mov dx, 0x1F0
        rep insw
        PUTS "ata: identify sectors "
        PDEC [sector_buf + 120]
        PUTS ", lba "
        mov eax, [sector_buf + 98]
        shr eax, 9
        and eax, 1
        PDEC eax
        NL
        PUTS "# model "                 ; differs between machines: a comment line
        mov esi, sector_buf + 54
        mov ecx, 20
.model: mov ax, [esi]
        xchg al, ah
        call putc
        mov al, ah
        call putc
        add esi, 2
        loop .model
        NL

        ; write a pattern to the scratch sector with rep outsw
        mov edi, pattern_buf
        xor eax, eax
.fill:  mov [edi + eax], al
        add byte [edi + eax], 7
        imul edx, eax, 13
        xor [edi + eax], dl
        inc eax
        cmp eax, 512
        jb .fill
        mov eax, SCRATCH_LBA
        mov cl, 0x30
        call ata_command
        mov dx, 0x1F7
.drq:   in al, dx
        test al, 0x08
        jz .drq
        mov esi, pattern_buf
        mov ecx, 256
        mov dx, 0x1F0
        rep outsw
        mov esi, ide_irqs
        mov eax, 2
        call wait_counter
        ; read it back with 32-bit transfers
        mov eax, SCRATCH_LBA
        mov cl, 0x20
        call ata_command
        mov esi, ide_irqs
        mov eax, 3
        call wait_counter
        mov edi, sector_buf
        mov ecx, 128
        mov dx, 0x1F0
        rep insd
        mov esi, pattern_buf
        mov edi, sector_buf
        mov ecx, 128
        repe cmpsd
        je .same
        FAIL "sector read back differs"
.same:  mov dx, 0x3F6                   ; alternate status: ready, no error
        in al, dx
        movzx eax, al
        PUTS "ata: sector "
        PDEC SCRATCH_LBA
        PUTS " written and read back, irq14 x "
        PDEC [ide_irqs]
        PUTS ", status "
        PHEX8 al
        NL

        ; --- local APIC timer: periodic, divide by 16
        mov dword [LAPIC + 0x3E0], 0x3
        mov dword [LAPIC + 0x320], (1 << 17) | VEC_TIMER
        mov dword [LAPIC + 0x380], 200000
        mov esi, apic_ticks
        mov eax, 3
        call wait_counter
        mov dword [LAPIC + 0x320], (1 << 16) | VEC_TIMER    ; masked
        PUTSLN "lapic timer: 3 periodic interrupts"
        ; one-shot: one interrupt, then the current count stays 0
        mov dword [apic_ticks], 0
        mov dword [LAPIC + 0x320], VEC_TIMER
        mov dword [LAPIC + 0x380], 50000
        mov esi, apic_ticks
        mov eax, 1
        call wait_counter
        PUTS "lapic timer: one-shot fired, current count "
        PDEC [LAPIC + 0x390]
        NL

        ; --- the 8254 through the I/O APIC: counter 0, mode 2, 1 kHz
        mov eax, 2
        mov ebx, VEC_PIT
        call ioapic_route
        mov al, 0x34
        out 0x43, al
        mov al, 0xA9                    ; 1193 = 0x04A9
        out 0x40, al
        mov al, 0x04
        out 0x40, al
        mov esi, pit_ticks
        mov eax, 2
        call wait_counter
        PUTSLN "pit: 2 interrupts on INTIN 2"

        ; --- CMOS: status register D says the RTC has power
        mov al, 0x0D
        out 0x70, al
        in al, 0x71
        movzx eax, al
        PUTS "cmos: register D "
        PHEX8 al
        NL
        jmp exit_pass
