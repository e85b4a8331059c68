; rings: privilege levels.
;   ring 3 entered by IRET and left through DPL 3 gates with the TSS stack
;   switch; a call gate with copied parameters; a conforming code segment;
;   interrupt vs trap gate (IF); data segments nulled on return to ring 3;
;   IOPL and the TSS I/O permission bitmap; privileged instructions and
;   segment loads from ring 3.
; This image masks the 8259 PIC (0xFF to ports 0x21, 0xA1) before it runs
; ring 3 with IF = 1.
%include "lib/kernel.inc"
%include "lib/user.inc"

SEL_CGATE       equ SEL_FREE + 0x00     ; 386 call gate, DPL 3, 2 parameters
SEL_CONF        equ SEL_FREE + 0x08     ; conforming code, DPL 0
VEC_INTGATE     equ 0x81                ; DPL 3 interrupt gate
VEC_TRAPGATE    equ 0x82                ; DPL 3 trap gate
ALLOWED_PORT    equ 0x3FF               ; COM1 scratch register
DENIED_PORT     equ 0x3FE

[section .bss]
alignb 16
alt_stack:      resb 4096
alt_stack_top:
gate_esp:       resd 1                  ; ESP seen by a handler
gate_frame:     resd 6                  ; the words above it
gate_eflags:    resd 1                  ; EFLAGS inside the handler
gate_cs:        resd 1
user_vals:      resd 4

[section .text]
main:
        mov al, 0xFF
        out 0x21, al
        out 0xA1, al
        SET_GDT_GATE SEL_CGATE, call_gate_target, SEL_CODE0, 0xEC, 2
        SET_DESC SEL_CONF, 0, 0xFFFFF, 0x9E, FLG_32G
        SET_IDT_GATE VEC_INTGATE, gate_handler, SEL_CODE0, GATE_INT3
        SET_IDT_GATE VEC_TRAPGATE, gate_handler, SEL_CODE0, GATE_TRAP3
        call test_gates
        call test_call_gates
        call test_io
        call test_privileged
        ret

; --- interrupt and trap gates from ring 3 --------------------------------------
test_gates:
        mov dword [tss + TSS_ESP0], alt_stack_top
        mov eax, user_int_gate
        mov ebx, EFLAGS_BASE | EFLAGS_IF
        call run_user
        PUTS "int 0x81 (interrupt gate) from ring 3: "
        call print_gate_frame
        PUTS "  back in ring 3: ds="
        PHEX16 [user_vals]
        PUTS " es="
        PHEX16 [user_vals + 4]
        PUTS " fs="
        PHEX16 [user_vals + 8]
        NL
        mov eax, user_trap_gate
        mov ebx, EFLAGS_BASE | EFLAGS_IF
        call run_user
        PUTS "int 0x82 (trap gate) from ring 3: "
        call print_gate_frame
        mov dword [tss + TSS_ESP0], isr_stack_top
        ret

; print_gate_frame: where the handler's stack was and what the CPU pushed
print_gate_frame:
        PUTS "esp=esp0-"
        mov eax, alt_stack_top
        sub eax, [gate_esp]
        PHEX8 al
        PUTS " cs="
        PHEX16 [gate_cs]
        PUTS " if="
        mov eax, [gate_eflags]
        shr eax, 9
        and eax, 1
        PDEC eax
        NL
        mov eax, [gate_frame]
        CHECK eax, [user_vals + 12], "pushed EIP is not the next instruction"
        PUTS "  pushed eip=next cs="
        PHEX16 [gate_frame + 4]
        PUTS " eflags="
        PHEX [gate_frame + 8]
        PUTS " esp=user_stack_top-"
        mov eax, user_stack_top
        sub eax, [gate_frame + 12]
        PHEX8 al
        PUTS " ss="
        PHEX16 [gate_frame + 16]
        NL
        ret

; gate_handler: records its ESP, EFLAGS, CS and the 5-word frame, then returns
; to ring 3 with DS and ES holding a DPL 0 selector (the IRET must null them).
gate_handler:
        mov [ss:gate_esp], esp
        push eax
        pushfd
        pop eax
        mov [ss:gate_eflags], eax
        mov ax, cs
        mov [ss:gate_cs], eax
        mov eax, [esp + 4]
        mov [ss:gate_frame], eax
        mov eax, [esp + 8]
        mov [ss:gate_frame + 4], eax
        mov eax, [esp + 12]
        mov [ss:gate_frame + 8], eax
        mov eax, [esp + 16]
        mov [ss:gate_frame + 12], eax
        mov eax, [esp + 20]
        mov [ss:gate_frame + 16], eax
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        pop eax
        iretd

user_int_gate:
        mov dword [user_vals + 12], .after
        int VEC_INTGATE
.after: mov word [ss:user_vals], ds     ; DS was nulled: use SS
        mov word [ss:user_vals + 4], es
        mov word [ss:user_vals + 8], fs
        mov ax, SEL_DATA3
        mov ds, ax
        mov es, ax
        USER_EXIT

user_trap_gate:
        mov dword [user_vals + 12], .after
        int VEC_TRAPGATE
.after: mov ax, SEL_DATA3
        mov ds, ax
        mov es, ax
        USER_EXIT

; --- call gate and conforming code ---------------------------------------------
test_call_gates:
        mov dword [tss + TSS_ESP0], alt_stack_top
        mov eax, user_call_gate
        mov ebx, EFLAGS_BASE
        call run_user
        mov dword [tss + TSS_ESP0], isr_stack_top
        PUTS "call gate from ring 3: cpl="
        mov eax, [gate_cs]
        and eax, 3
        PDEC eax
        PUTS " esp=esp0-"
        mov eax, alt_stack_top
        sub eax, [gate_esp]
        PHEX8 al
        PUTS " params="
        PHEX [gate_frame + 8]
        PUTS ","
        PHEX [gate_frame + 12]
        NL
        PUTS "  caller cs="
        PHEX16 [gate_frame + 4]
        PUTS " esp=user_stack_top-"
        mov eax, user_stack_top
        sub eax, [gate_frame + 16]
        PHEX8 al
        PUTS " ss="
        PHEX16 [gate_frame + 20]
        PUTS " result="
        PHEX [user_vals]
        PUTS " esp restored="
        PDEC [user_vals + 4]
        NL
        mov eax, user_conforming
        mov ebx, EFLAGS_BASE
        call run_user
        PUTS "conforming code from ring 3: cs="
        PHEX16 [user_vals]
        NL
        ret

user_call_gate:
        mov esi, esp
        push 0x1111
        push 0x2222
        call SEL_CGATE | 3 : 0
        mov [user_vals], eax
        xor eax, eax
        cmp esp, esi
        sete al
        mov [user_vals + 4], eax
        USER_EXIT

; ring 0 through the gate: [ESP] = EIP, CS, 0x2222, 0x1111, ESP3, SS3
call_gate_target:
        mov [ss:gate_esp], esp
        push ebx
        mov bx, cs
        mov [ss:gate_cs], ebx
        xor ebx, ebx
.copy:  mov eax, [esp + 4 + ebx * 4]
        mov [ss:gate_frame + ebx * 4], eax
        inc ebx
        cmp ebx, 6
        jb .copy
        mov eax, [esp + 12]
        add eax, [esp + 16]             ; 0x1111 + 0x2222
        pop ebx
        retf 8

user_conforming:
        call SEL_CONF:.conf             ; runs at CPL 3 with CS.RPL = 3
        USER_EXIT
.conf:  mov ax, cs
        mov [user_vals], eax
        retf

; --- I/O: IOPL and the permission bitmap ---------------------------------------
test_io:
        mov eax, ALLOWED_PORT
        btr [tss_iomap], eax                    ; allow one port
        mov eax, user_io_allowed
        mov ebx, EFLAGS_BASE
        call run_user
        PUTS "iopl=0 ring 3 out/in allowed port 0x3FF: read back "
        PHEX8 al
        NL
        USER_CASE "iopl=0 ring 3 in denied port 0x3FE", user_in_denied, EFLAGS_BASE
        USER_CASE "iopl=0 ring 3 in word 0x3FE-0x3FF", user_in_word_low, EFLAGS_BASE
        USER_CASE "iopl=0 ring 3 in word 0x3FF-0x400", user_in_word_high, EFLAGS_BASE
        USER_CASE "iopl=3 ring 3 in denied port 0x3FE", user_in_denied, EFLAGS_BASE | EFLAGS_IOPL3
        mov eax, ALLOWED_PORT
        bts [tss_iomap], eax
        USER_CASE "iopl=0 ring 3 in port 0x3FF after bitmap reset", user_in_allowed, EFLAGS_BASE
        ret

user_io_allowed:
        mov dx, ALLOWED_PORT
        mov al, 0x5A
        out dx, al
        xor eax, eax
        in al, dx
        USER_EXIT
user_in_denied:
        mov dx, DENIED_PORT
        USER_TRY in al, dx
user_in_word_low:
        mov dx, DENIED_PORT
        USER_TRY in ax, dx
user_in_word_high:
        mov dx, ALLOWED_PORT
        USER_TRY in ax, dx
user_in_allowed:
        mov dx, ALLOWED_PORT
        USER_TRY in al, dx

; --- privileged instructions and segment loads from ring 3 ----------------------
test_privileged:
        USER_CASE "ring 3 cli, iopl=0", user_cli, EFLAGS_BASE
        USER_CASE "ring 3 cli, iopl=3", user_cli, EFLAGS_BASE | EFLAGS_IOPL3
        USER_CASE "ring 3 hlt", user_hlt, EFLAGS_BASE | EFLAGS_IOPL3
        USER_CASE "ring 3 mov cr0, eax", user_mov_to_cr0, EFLAGS_BASE
        USER_CASE "ring 3 mov eax, cr3", user_mov_from_cr3, EFLAGS_BASE
        USER_CASE "ring 3 lgdt", user_lgdt, EFLAGS_BASE
        USER_CASE "ring 3 ltr", user_ltr, EFLAGS_BASE
        USER_CASE "ring 3 mov ds, DPL 0 data", user_ds_dpl0, EFLAGS_BASE
        USER_CASE "ring 3 mov ss, DPL 0 data", user_ss_dpl0, EFLAGS_BASE
        USER_CASE "ring 3 mov es, RPL 0 of DPL 3 data", user_es_rpl0, EFLAGS_BASE
        PUTS "ring 0 mov ds, RPL 3 of DPL 0 data: "
        mov ax, SEL_DATA0 | 3
        TRY
        mov ds, ax
        CATCH
        call report_fault
        mov eax, user_popf
        mov ebx, EFLAGS_BASE
        call run_user
        PUTS "ring 3 popf IF|IOPL3 with iopl=0: eflags&0x3200="
        and eax, 0x3200
        PHEX eax
        NL
        mov eax, user_popf
        mov ebx, EFLAGS_BASE | EFLAGS_IOPL3
        call run_user
        PUTS "ring 3 popf IF with iopl=3: eflags&0x3200="
        and eax, 0x3200
        PHEX eax
        NL
        ret

user_cli:
        USER_TRY cli
user_hlt:
        USER_TRY hlt
user_mov_to_cr0:
        USER_TRY mov cr0, eax
user_mov_from_cr3:
        USER_TRY mov eax, cr3
user_lgdt:
        USER_TRY lgdt [gdtr]
user_ltr:
        mov ax, SEL_TSS
        USER_TRY ltr ax
user_ds_dpl0:
        mov ax, SEL_DATA0
        USER_TRY mov ds, ax
user_ss_dpl0:
        mov ax, SEL_DATA0 | 3
        USER_TRY mov ss, ax
user_es_rpl0:
        mov ax, SEL_DATA3 & ~3
        USER_TRY mov es, ax
user_popf:
        pushfd
        or dword [esp], EFLAGS_IF | EFLAGS_IOPL3
        popfd
        pushfd
        pop eax
        USER_EXIT
