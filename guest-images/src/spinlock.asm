; spinlock: two processors share a test-and-set lock (XCHG, no PAUSE), as
;   xv6's acquire() does, on a PC with 2 CPUs. The AP behaves like an idle
;   scheduler: it holds the lock for most of its loop (about 300 instructions)
;   and frees it for a few instructions before taking it again. The BSP takes
;   the lock ROUNDS times, adding to a shared counter inside it with a plain
;   load and store (so a broken lock loses updates), and counts every XCHG that
;   found the lock taken. It checks the counter (mutual exclusion) and stores
;   its failed XCHGs at SPINS (0x9100): on real hardware a count that depends
;   on timing, so it is not printed; the Trapeze test bounds it (one vCPU at a
;   time: a spinning vCPU must yield to the holder instead of spinning its turn).
; Needs -smp 2 (expected/spinlock.cmd).
%include "lib/kernel.inc"

LAPIC           equ 0xFEE00000
LAPIC_SVR       equ LAPIC + 0xF0
LAPIC_ICR_HI    equ LAPIC + 0x310
LAPIC_ICR_LO    equ LAPIC + 0x300
ALL_BUT_SELF    equ 3 << 18
INIT_ASSERT     equ ALL_BUT_SELF | 0x4500
SIPI            equ ALL_BUT_SELF | 0x4600
AP_BASE         equ 0x8000                  ; SIPI vector 08h
LOCK_WORD            equ 0x9000                  ; 0 free, 1 taken
AP_UP           equ 0x9004
DONE            equ 0x9008                  ; the BSP finished: the AP stops taking the lock
COUNTER         equ 0x900c                  ; updated inside the lock by both
AP_ROUNDS       equ 0x9010                  ; times the AP took the lock
AP_STOPPED      equ 0x9014
AP_GDTR         equ 0x9018
SPINS           equ 0x9100                  ; the BSP's failed XCHGs, read by the Trapeze test
ROUNDS          equ 200
HOLD_LOOPS      equ 100                     ; the AP's work inside the lock (3 instructions each)
WAIT_LOOPS      equ 0x10000000

[section .text]
main:
        or dword [LAPIC_SVR], 0x100
        mov esi, ap_start
        mov edi, AP_BASE
        mov ecx, ap_end - ap_start
        rep movsb
        xor eax, eax
        mov [LOCK_WORD], eax
        mov [AP_UP], eax
        mov [DONE], eax
        mov [COUNTER], eax
        mov [AP_ROUNDS], eax
        mov [AP_STOPPED], eax
        mov [SPINS], eax
        sgdt [AP_GDTR]
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
        PUTSLN "ap up, taking the lock in a loop"

        mov ebx, ROUNDS
.round: mov eax, 1
.spin:  xchg eax, [LOCK_WORD]                    ; implicitly locked
        test eax, eax
        jz .taken
        inc dword [SPINS]
        jmp .spin
.taken: mov eax, [COUNTER]                  ; a plain read-modify-write, safe only under the lock
        inc eax
        mov [COUNTER], eax
        mov dword [LOCK_WORD], 0
        dec ebx
        jnz .round
        PUTSLN "bsp took the lock 200 times"

        mov dword [DONE], 1
        mov ecx, WAIT_LOOPS
.wait_stop:
        cmp dword [AP_STOPPED], 0
        jne .stopped
        pause
        loop .wait_stop
        FAIL "the AP did not stop"
.stopped:
        mov eax, [AP_ROUNDS]
        add eax, ROUNDS
        CHECK [COUNTER], eax, "no update lost: the counter is the sum of both processors' rounds"
        PUTSLN "no update lost"
        ret

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
        mov dword [AP_UP], 1
.loop:  cmp dword [DONE], 0
        jne .stop
        mov eax, 1
.spin:  xchg eax, [LOCK_WORD]
        test eax, eax
        jnz .spin
        mov eax, [COUNTER]
        inc eax
        mov [COUNTER], eax
        inc dword [AP_ROUNDS]
        mov ecx, HOLD_LOOPS
.hold:  nop
        dec ecx
        jnz .hold
        mov dword [LOCK_WORD], 0
        jmp .loop
.stop:  mov dword [AP_STOPPED], 1
.halt:  cli
        hlt
        jmp .halt
