; pagestress: many pages, many address spaces.
;   SPACES page directories share the kernel's identity map and each maps its
;   own PAGES private pages at PRIVATE_BASE. STEPS pseudo-random touches (LCG)
;   read-modify-write one dword each, switching CR3 every SWITCH_EVERY steps
;   and swapping the frames of two live pages (PTE rewrite + INVLPG) every
;   SWAP_EVERY steps. A final scan of every page of every space gives the
;   checksum. Prints cr3_writes=N (all CR3 writes the image made).
%include "lib/kernel.inc"
%include "lib/paging.inc"

SPACES          equ 4
PAGES           equ 640
PRIVATE_BASE    equ 0x40000000
STEPS           equ 100000
SWITCH_EVERY    equ 64
SWAP_EVERY      equ 256

[section .bss]
alignb 4
directories:    resd SPACES
cr3_writes:     resd 1
pte_rewrites:   resd 1
lcg:            resd 1
current:        resd 1                  ; current page directory
touch_sum:      resd 1

[section .text]
main:
        mov dword [pool_next], 0x01000000
        mov dword [pool_end], 0x02000000
        ; the first line before the work, so a timer can see where it starts
        PUTS "spaces="
        PDEC SPACES
        PUTS " pages="
        PDEC SPACES * PAGES
        PUTS " steps="
        PDEC STEPS
        NL
        call paging_identity
        call build_spaces
        mov eax, [directories]
        call load_cr3
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
        call stress
        mov [touch_sum], eax
        call scan
        PUTS "cr3_writes="
        PDEC [cr3_writes]
        NL
        PUTS "pte_rewrites="
        PDEC [pte_rewrites]
        NL
        PUTS "touch sum="
        PHEX [touch_sum]
        NL
        PUTS "checksum="
        PHEX eax
        NL
        ret

; load_cr3: EAX = page directory
load_cr3:
        mov cr3, eax
        mov [current], eax
        inc dword [cr3_writes]
        ret

; each space: a directory whose first PDEs are the kernel's, then PAGES frames
build_spaces:
        xor esi, esi
.space: call frame_alloc
        mov [directories + esi * 4], eax
        mov edi, eax
        push esi
        mov esi, page_dir               ; share the identity page tables
        mov ecx, IDENTITY_TABLES
        rep movsd
        pop esi
        mov edi, [directories + esi * 4]
        xor ecx, ecx
.page:  call frame_alloc
        mov [eax], esi                  ; first dword: space and page
        mov [eax + 4], ecx
        lea ebx, [eax + PTE_P + PTE_RW]
        mov eax, ecx
        shl eax, 12
        add eax, PRIVATE_BASE
        call map_page
        inc ecx
        cmp ecx, PAGES
        jb .page
        inc esi
        cmp esi, SPACES
        jb .space
        ret

; next_random: EAX = the next LCG value (also kept in [lcg])
next_random:
        mov eax, [lcg]
        imul eax, eax, 1103515245
        add eax, 12345
        mov [lcg], eax
        ret

; stress: EAX = a running sum of the values written
stress:
        mov dword [lcg], 20240601
        xor ebp, ebp                    ; sum
        xor ecx, ecx                    ; step
.step:  call next_random
        test ecx, SWITCH_EVERY - 1
        jnz .touch
        mov ebx, eax                    ; switch to space (x >> 16) % SPACES
        shr ebx, 16
        and ebx, SPACES - 1
        push eax
        mov eax, [directories + ebx * 4]
        call load_cr3
        pop eax
.touch: mov ebx, eax                    ; page (x >> 8) % PAGES
        shr ebx, 8
        and ebx, 0xFFFF
        push eax
        mov eax, ebx
        xor edx, edx
        mov ebx, PAGES
        div ebx
        pop eax
        shl edx, 12
        mov ebx, eax                    ; offset (x >> 2) & 0xFFC
        shr ebx, 2
        and ebx, 0xFFC
        add edx, ebx
        mov ebx, [PRIVATE_BASE + edx]
        imul ebx, ebx, 31
        add ebx, ecx
        xor ebx, eax
        mov [PRIVATE_BASE + edx], ebx
        rol ebp, 1
        add ebp, ebx
        mov ebx, ecx
        and ebx, SWAP_EVERY - 1
        cmp ebx, SWAP_EVERY - 1
        jne .next
        call swap_two_pages
.next:  inc ecx
        cmp ecx, STEPS
        jb .step
        mov eax, ebp
        ret

; swap_two_pages: exchange the frames behind two random private pages of the
; current space, then INVLPG both (their translations are live)
swap_two_pages:
        pushad
        call next_random
        shr eax, 8
        xor edx, edx
        mov ebx, PAGES
        div ebx
        mov esi, edx                    ; page a
        call next_random
        shr eax, 8
        xor edx, edx
        div ebx
        mov ebx, edx                    ; page b
        mov edi, [current]
        mov eax, esi
        shl eax, 12
        add eax, PRIVATE_BASE
        mov esi, eax                    ; ESI = linear a
        call pte_addr
        mov ecx, eax                    ; ECX = &PTE a
        mov eax, ebx
        shl eax, 12
        add eax, PRIVATE_BASE
        mov ebx, eax                    ; EBX = linear b
        call pte_addr
        mov edx, [eax]
        xchg edx, [ecx]
        mov [eax], edx
        invlpg [esi]
        invlpg [ebx]
        add dword [pte_rewrites], 2
        popad
        ret

; scan: EAX = checksum of every dword of every private page of every space
scan:
        xor edx, edx
        xor ebx, ebx
.space: mov eax, [directories + ebx * 4]
        call load_cr3
        mov esi, PRIVATE_BASE
        mov ecx, PAGES * 1024
.dword: lodsd
        rol edx, 3
        xor edx, eax
        add edx, ecx
        loop .dword
        inc ebx
        cmp ebx, SPACES
        jb .space
        mov eax, edx
        ret
