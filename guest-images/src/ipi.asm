; ipi: how soon a fixed IPI reaches the other processor, on a PC with 2 CPUs.
;   The BSP starts the AP (INIT, SIPI), which goes to protected mode with the
;   BSP's GDT and IDT, enables interrupts and spins. The BSP then sends vector
;   0x40 to APIC ID 1 three times: to the spinning AP, to the AP halted (HLT
;   with IF = 1), and as an NMI to the halted AP. After each ICR write it
;   counts its own loop iterations until the AP's handler has run and stores
;   the count at BSP_LOOPS (+0, +4, +8): on real hardware a few hundred, a
;   count that depends on timing, so it is not printed; the Trapeze test reads
;   it (an emulator running one vCPU at a time must switch to the target at the
;   ICR write for it to be 0). Each handler EOIs (the fixed one) and counts.
; Needs -smp 2 (expected/ipi.cmd); the PC's local APIC at 0xFEE00000.
%include "lib/kernel.inc"

LAPIC           equ 0xFEE00000
LAPIC_SVR       equ LAPIC + 0xF0
LAPIC_EOI       equ LAPIC + 0xB0
LAPIC_ICR_LO    equ LAPIC + 0x300
LAPIC_ICR_HI    equ LAPIC + 0x310
ALL_BUT_SELF    equ 3 << 18
INIT_ASSERT     equ ALL_BUT_SELF | 0x4500
SIPI            equ ALL_BUT_SELF | 0x4600
IPI_VECTOR      equ 0x40
FIXED_TO_ID     equ 0x4000 | IPI_VECTOR     ; fixed, edge, physical destination in ICR_HI
NMI_TO_ID       equ 0x4400                  ; NMI, physical destination in ICR_HI
AP_BASE         equ 0x8000                  ; SIPI vector 08h
AP_UP           equ 0x9000                  ; the AP runs with IF = 1
AP_MODE         equ 0x9004                  ; 0: spin, 1: halt
AP_HALTING      equ 0x9008                  ; the AP reached its HLT loop
IPI_COUNT       equ 0x900c                  ; fixed IPIs the AP took
NMI_COUNT       equ 0x9010                  ; NMIs the AP took
AP_GDTR         equ 0x9018
AP_IDTR         equ 0x9020
BSP_LOOPS       equ 0x9100                  ; three counts, read by the Trapeze test
AP_STACK        equ 0x7000
WAIT_LOOPS      equ 0x10000000

[section .text]
main:
        or dword [LAPIC_SVR], 0x100         ; software-enable the local APIC
        SET_IDT_GATE IPI_VECTOR, ipi_isr, SEL_CODE0, GATE_INT0
        SET_IDT_GATE 2, nmi_isr, SEL_CODE0, GATE_INT0
        mov esi, ap_start
        mov edi, AP_BASE
        mov ecx, ap_end - ap_start
        rep movsb
        xor eax, eax
        mov [AP_UP], eax
        mov [AP_MODE], eax
        mov [AP_HALTING], eax
        mov [IPI_COUNT], eax
        mov [NMI_COUNT], eax
        mov dword [BSP_LOOPS], -1
        mov dword [BSP_LOOPS + 4], -1
        mov dword [BSP_LOOPS + 8], -1
        sgdt [AP_GDTR]
        sidt [AP_IDTR]

        mov dword [LAPIC_ICR_HI], 0
        mov dword [LAPIC_ICR_LO], INIT_ASSERT
        mov dword [LAPIC_ICR_LO], SIPI | (AP_BASE >> 12)
        mov ecx, WAIT_LOOPS
.wait_ap:
        cmp dword [AP_UP], 0
        jne .ap_up
        pause
        loop .wait_ap
        FAIL "the AP did not start after INIT and SIPI"
.ap_up:
        PUTSLN "ap up, interrupts on"

        mov dword [LAPIC_ICR_HI], 1 << 24   ; APIC ID 1
        mov dword [LAPIC_ICR_LO], FIXED_TO_ID
        mov esi, IPI_COUNT
        mov edx, 1
        call count_until
        mov [BSP_LOOPS], ecx
        PUTSLN "fixed ipi taken by the spinning ap"

        mov dword [AP_MODE], 1
        mov ecx, WAIT_LOOPS
.wait_halt:
        cmp dword [AP_HALTING], 0
        jne .halting
        pause
        loop .wait_halt
        FAIL "the AP did not reach its HLT loop"
.halting:
        mov dword [LAPIC_ICR_LO], FIXED_TO_ID
        mov esi, IPI_COUNT
        mov edx, 2
        call count_until
        mov [BSP_LOOPS + 4], ecx
        PUTSLN "fixed ipi woke the halted ap"

        mov dword [LAPIC_ICR_LO], NMI_TO_ID
        mov esi, NMI_COUNT
        mov edx, 1
        call count_until
        mov [BSP_LOOPS + 8], ecx
        PUTSLN "nmi woke the halted ap"
        CHECK [IPI_COUNT], 2, "the AP took two fixed IPIs"
        CHECK [NMI_COUNT], 1, "the AP took one NMI"
        ret

; count_until: ECX = loop iterations until [ESI] >= EDX (no PAUSE: a plain spin)
count_until:
        xor ecx, ecx
.spin:  cmp [esi], edx
        jae .done
        inc ecx
        cmp ecx, WAIT_LOOPS
        jb .spin
        FAIL "the AP did not take the IPI"
.done:  ret

ipi_isr:
        lock inc dword [IPI_COUNT]
        mov dword [LAPIC_EOI], 0
        iretd

nmi_isr:
        lock inc dword [NMI_COUNT]
        iretd

; The AP's code, copied to AP_BASE: real mode, CS = 0x0800, IP = 0.
bits 16
ap_start:
        cli
        xor ax, ax
        mov ds, ax
        o32 lgdt [AP_GDTR]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword SEL_CODE0:ap_protected
ap_end:
bits 32

ap_protected:
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, AP_STACK
        lidt [AP_IDTR]
        or dword [LAPIC_SVR], 0x100
        sti
        mov dword [AP_UP], 1
.spin:  cmp dword [AP_MODE], 0
        je .spin
        mov dword [AP_HALTING], 1
.halt:  hlt
        jmp .halt
