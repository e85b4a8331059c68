; smp: bring up the second processor as an MP kernel does, on a PC with 2 CPUs.
;   The CPU count from QEMU's fw_cfg (key 0x05), the BSP's APIC ID (local APIC
;   ID register and CPUID.1:EBX[31:24]), then INIT, INIT de-assert and two SIPIs
;   to all but self. The AP starts in real mode at 0x8000 (vector 08h), counts
;   itself in, reports its CPUID APIC ID and increments a heartbeat forever.
;   The second SIPI must be ignored (the AP runs), and an INIT de-assert sent
;   while the AP runs must leave it running (it is not an INIT). The AP then
;   goes to protected mode (the BSP's GDT) and reads its local APIC ID on
;   every beat while the BSP reads its own: each must always see its own ID.
; Needs -smp 2 (expected/smp.cmd); the PC's local APIC at 0xFEE00000.
%include "lib/kernel.inc"

LAPIC           equ 0xFEE00000
LAPIC_ID        equ LAPIC + 0x20
LAPIC_SVR       equ LAPIC + 0xF0
LAPIC_ICR_LO    equ LAPIC + 0x300
LAPIC_ICR_HI    equ LAPIC + 0x310
ICR_BUSY        equ 1 << 12
ALL_BUT_SELF    equ 3 << 18
INIT_ASSERT     equ ALL_BUT_SELF | 0x4500   ; INIT, level assert (edge)
INIT_DEASSERT   equ ALL_BUT_SELF | 0x8500   ; INIT, level de-assert, level-triggered
SIPI            equ ALL_BUT_SELF | 0x4600   ; startup, vector in bits 0-7
AP_BASE         equ 0x8000                  ; SIPI vector 08h
AP_COUNT        equ 0x9000                  ; shared with the AP: how many times it started
AP_APIC_ID      equ 0x9004                  ; its CPUID.1:EBX[31:24]
AP_BEAT         equ 0x9008                  ; its heartbeat
AP_GDTR         equ 0x9010                  ; the BSP's GDTR, for the AP's LGDT
AP_LAPIC_ID     equ 0x9018                  ; the AP's local APIC ID register, as it read it
AP_WRONG        equ 0x901c                  ; reads of its ID register that showed another ID
BSP_READS       equ 200000
WAIT_LOOPS      equ 0x10000000

[section .text]
main:
        ; fw_cfg: select key 5 (NB_CPUS, 16 bits little-endian)
        mov dx, 0x510
        mov ax, 5
        out dx, ax
        inc dx
        xor ecx, ecx
        in al, dx
        mov cl, al
        in al, dx
        mov ch, al
        PUTS "fw_cfg cpus="
        PDEC ecx
        NL
        CHECK ecx, 2, "fw_cfg reports 2 CPUs"

        mov eax, [LAPIC_ID]
        shr eax, 24
        PUTS "bsp lapic id="
        PDEC eax
        mov eax, 1
        cpuid
        shr ebx, 24
        PUTS " cpuid id="
        PDEC ebx
        NL
        or dword [LAPIC_SVR], 0x100         ; software-enable the local APIC

        mov esi, ap_start
        mov edi, AP_BASE
        mov ecx, ap_end - ap_start
        rep movsb
        mov dword [AP_COUNT], 0
        mov dword [AP_APIC_ID], 0xffffffff
        mov dword [AP_BEAT], 0
        mov dword [AP_LAPIC_ID], 0xffffffff
        mov dword [AP_WRONG], 0
        sgdt [AP_GDTR]

        mov dword [LAPIC_ICR_HI], 0
        mov eax, INIT_ASSERT
        call send_ipi
        mov eax, INIT_DEASSERT
        call send_ipi
        mov eax, SIPI | (AP_BASE >> 12)
        call send_ipi
        mov ecx, WAIT_LOOPS
.wait_ap:
        cmp dword [AP_COUNT], 0
        jne .ap_up
        pause
        loop .wait_ap
        FAIL "the AP did not start after INIT and SIPI"
.ap_up:
        mov eax, SIPI | (AP_BASE >> 12)     ; a second SIPI: the AP runs, so it is ignored
        call send_ipi
        call wait_beat
        jc .stopped
        PUTS "ap started "
        PDEC [AP_COUNT]
        PUTS " time(s), cpuid id="
        PDEC [AP_APIC_ID]
        NL
        CHECK [AP_APIC_ID], 1, "the AP's CPUID APIC ID is 1"

        mov eax, INIT_DEASSERT              ; while the AP runs: not an INIT
        call send_ipi
        call wait_beat
        jc .stopped
        call wait_beat
        jc .stopped
        PUTSLN "ap still running after INIT de-assert"
        CHECK [AP_COUNT], 1, "the AP started once"

        ; both read their own local APIC ID register, over and over, at once
        xor edx, edx
        mov ecx, BSP_READS
.read:  mov eax, [LAPIC_ID]
        test eax, eax
        jz .own
        inc edx
.own:   loop .read
        CHECK edx, 0, "the BSP read another APIC's ID"
        call wait_beat
        jc .stopped
        mov eax, [AP_LAPIC_ID]
        shr eax, 24
        PUTS "ap lapic id="
        PDEC eax
        NL
        CHECK [AP_WRONG], 0, "the AP read another APIC's ID"
        PUTSLN "each CPU read its own APIC ID"
        ret
.stopped:
        FAIL "the AP's heartbeat stopped"

; send_ipi: EAX = ICR low; waits until the ICR is idle
send_ipi:
        mov [LAPIC_ICR_LO], eax
.busy:  test dword [LAPIC_ICR_LO], ICR_BUSY
        jz .done
        pause
        jmp .busy
.done:  ret

; wait_beat: CF=0 once the AP's heartbeat moved, CF=1 after WAIT_LOOPS without
wait_beat:
        push ecx
        mov eax, [AP_BEAT]
        mov ecx, WAIT_LOOPS
.spin:  cmp eax, [AP_BEAT]
        jne .moved
        pause
        loop .spin
        pop ecx
        stc
        ret
.moved: pop ecx
        clc
        ret

; The AP's code, copied to AP_BASE: real mode, CS = 0x0800, IP = 0.
bits 16
ap_start:
        cli
        xor ax, ax
        mov ds, ax
        lock inc dword [AP_COUNT]
        mov eax, 1
        cpuid
        shr ebx, 24
        mov [AP_APIC_ID], ebx
        o32 lgdt [AP_GDTR]
        mov eax, cr0
        or al, 1
        mov cr0, eax
        jmp dword SEL_CODE0:ap_protected
ap_end:
bits 32

; The AP in protected mode (flat segments of the BSP's GDT), no stack.
ap_protected:
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov eax, [LAPIC_ID]
        mov [AP_LAPIC_ID], eax
.beat:  cmp dword [LAPIC_ID], 1 << 24
        je .own
        lock inc dword [AP_WRONG]
.own:   lock inc dword [AP_BEAT]
        jmp .beat
