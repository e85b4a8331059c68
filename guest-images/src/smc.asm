; smc: self-modifying code.
;   an immediate patched in a loop after it has run; the next instruction
;   patched in the same straight-line block (operand and opcode); code copied
;   into a buffer and replaced there; an instruction that crosses a page
;   boundary patched in its second page; and with paging on, code written
;   through a second linear mapping (alias) of its frame and run through the first.
%include "lib/kernel.inc"
%include "lib/paging.inc"

ALIAS           equ 0x01F00000          ; second linear address of smc_page's frame

[section .text]
main:
        call test_loop_immediate
        call test_next_instruction
        call test_copied_code
        call test_page_straddle
        call test_alias
        ret

; an instruction that already ran gets a new immediate on every iteration
test_loop_immediate:
        xor ebx, ebx
        mov ecx, 10
.loop:  mov eax, 0                      ; imm32 patched below
.imm    equ $ - 4
        add ebx, eax
        inc dword [.imm]
        loop .loop
        mov dword [.imm], 0
        PUTS "loop patching an executed immediate: sum="
        PHEX ebx
        NL
        CHECK ebx, 45, "loop immediate"
        ret

; the store changes the very next instruction of the same block
test_next_instruction:
        mov byte [.imm8], 0x42
        mov al, 0x00
.imm8   equ $ - 1
        mov byte [.imm8], 0x00
        PUTS "patch next instruction (imm8): al="
        PHEX8 al
        NL
        CHECK eax, 0x42, "next imm8"
        xor eax, eax
        mov ecx, 5
.loop:  xor byte [.op], 0x08            ; inc eax (40) <-> dec eax (48)
.op:    inc eax
        loop .loop
        and byte [.op], ~0x08
        PUTS "patch next instruction (opcode inc<->dec, 5 times): eax="
        PHEX eax
        NL
        CHECK eax, -1, "next opcode"
        mov edi, .far_ahead                     ; a few instructions further on
        mov esi, template_b
        mov ecx, 5                              ; its mov eax, imm32 only
        rep movsb
.far_ahead:
        mov eax, 0x1111
        nop
        nop
        nop
        PUTS "rep movsb over code ahead in the same block: eax="
        PHEX eax
        NL
        CHECK eax, 0x2222, "rep movsb ahead"
        ret

; copy a routine into a buffer, run it, copy another over it, run again
test_copied_code:
        mov edi, code_buffer
        mov esi, template_a
        mov ecx, template_a_end - template_a
        rep movsb
        call code_buffer
        mov ebx, eax
        mov edi, code_buffer
        mov esi, template_b
        mov ecx, template_b_end - template_b
        rep movsb
        call code_buffer
        PUTS "copied code, replaced at the same address: "
        PHEX ebx
        PUTS " then "
        PHEX eax
        NL
        CHECK ebx, 0x1111, "copied code a"
        CHECK eax, 0x2222, "copied code b"
        ret

; mov eax, imm32 whose last two immediate bytes are on the next page
test_page_straddle:
        call straddle
        mov ebx, eax
        mov byte [straddle_page2 + 0], 0xAA     ; third immediate byte
        call straddle
        mov byte [straddle_page2 + 0], 0x33
        PUTS "instruction across a page boundary, patched in the second page: "
        PHEX ebx
        PUTS " then "
        PHEX eax
        NL
        CHECK ebx, 0x44332211, "straddle before"
        CHECK eax, 0x44AA2211, "straddle after"
        ret

; with paging: smc_page is also mapped at ALIAS; writes go through ALIAS
test_alias:
        call paging_identity
        mov eax, ALIAS
        call pte_of
        mov dword [eax], smc_page + PTE_URW
        call paging_on
        call alias_next_instruction
        movzx eax, al
        PUTS "alias: patch next instruction through the alias: al="
        PHEX8 al
        NL
        CHECK eax, 0x77, "alias next"
        call alias_loop
        PUTS "alias: loop patching through the alias: sum="
        PHEX eax
        NL
        CHECK eax, 30, "alias loop"
        mov edi, ALIAS + ALIAS_BUFFER
        mov esi, template_a
        mov ecx, template_a_end - template_a
        rep movsb
        call smc_page + ALIAS_BUFFER
        mov ebx, eax
        mov edi, ALIAS + ALIAS_BUFFER
        mov esi, template_b
        mov ecx, template_b_end - template_b
        rep movsb
        call smc_page + ALIAS_BUFFER
        PUTS "alias: code replaced through the alias: "
        PHEX ebx
        PUTS " then "
        PHEX eax
        NL
        CHECK ebx, 0x1111, "alias copy a"
        CHECK eax, 0x2222, "alias copy b"
        call paging_off
        ret

[section .rodata]
template_a:
        mov eax, 0x1111
        ret
template_a_end:
template_b:
        mov eax, 0x2222
        ret
template_b_end:

[section .data]
; one page of code that is also reached through ALIAS, then the page straddle
align 4096
smc_page:
alias_next_instruction:                 ; runs at smc_page, writes via ALIAS
        mov byte [ALIAS + .imm8 - smc_page], 0x77
        mov al, 0x11
.imm8   equ $ - 1
        mov byte [ALIAS + .imm8 - smc_page], 0x11
        ret
alias_loop:
        xor ebx, ebx
        mov ecx, 5
.loop:  mov eax, 0
.imm    equ $ - 4
        add ebx, eax
        add dword [ALIAS + .imm - smc_page], 3
        loop .loop
        mov dword [ALIAS + .imm - smc_page], 0
        mov eax, ebx
        ret
ALIAS_BUFFER    equ 0x800
        times ALIAS_BUFFER - ($ - smc_page) db 0xCC
code_buffer:                            ; used without paging
        times 64 db 0xCC
        times 4096 - 3 - ($ - smc_page) db 0xCC
straddle:
        mov eax, 0x44332211             ; B8 11 22 | 33 44
straddle_page2 equ straddle + 3
        ret
