; paging: 32-bit paging.
;   demand paging by the guest's own #PF handler (frames and page tables
;   allocated on first touch), accessed/dirty bits in PTE and PDE, CR0.WP in
;   ring 0, U/S and R/W from ring 3 combined across PDE and PTE, INVLPG and
;   CR3 reload after PTE changes, 4 MiB pages (CR4.PSE) with their A/D bits,
;   global pages (CR4.PGE): flushed by INVLPG or by toggling PGE.
%include "lib/kernel.inc"
%include "lib/user.inc"
%include "lib/paging.inc"

DEMAND_BASE     equ 0x403FA000          ; 48 pages, across a page-table boundary
DEMAND_PAGES    equ 48
US_BASE         equ 0x50000000          ; PDE supervisor-only, PTE user
RO_BASE         equ 0x50400000          ; PDE read-only, PTE writable
MAP_BASE        equ 0x60000000          ; remapped pages (INVLPG, global)
BIG_BASE        equ 0x80000000          ; a 4 MiB page onto physical 4 MiB
BIG_FRAME       equ 0x00400000
POOL_BASE       equ 0x01000000          ; frames for the allocator: 16 MiB ..
POOL_END        equ 0x02000000

[section .bss]
alignb 4
demand_faults:  resd 1
demand_log:     resd 2 * 4              ; CR2, error code of the first faults
frame_a:        resd 1
frame_b:        resd 1

[section .text]
main:
        mov dword [pool_next], POOL_BASE
        mov dword [pool_end], POOL_END
        call paging_identity
        call paging_on
        call test_demand
        call test_accessed_dirty
        call test_write_protect
        call test_user_supervisor
        call test_invlpg
        call test_big_pages
        call test_global
        ret

; --- demand paging ---------------------------------------------------------------
demand_hook:                            ; #PF hook: EBP = frame
        mov eax, cr2
        cmp eax, DEMAND_BASE
        jb .not_mine
        cmp eax, DEMAND_BASE + DEMAND_PAGES * 4096
        jae .not_mine
        mov ecx, [demand_faults]
        cmp ecx, 4
        jae .count
        mov [demand_log + ecx * 8], eax
        mov edx, [ebp + FR_ERROR]
        mov [demand_log + ecx * 8 + 4], edx
.count: inc dword [demand_faults]
        mov edi, page_dir
        mov edx, eax
        call frame_alloc
        lea ebx, [eax + PTE_P + PTE_RW]
        mov eax, edx
        and eax, ~0xFFF
        call map_page
        mov eax, 1                      ; handled: retry the instruction
        ret
.not_mine:
        xor eax, eax
        ret

test_demand:
        mov dword [isr_hooks + 14 * 4], demand_hook
        xor ecx, ecx                    ; write one dword per page, pages in
.write: mov eax, ecx                    ; the order i*7 mod 48 (all of them)
        imul eax, eax, 7
        xor edx, edx
        mov ebx, DEMAND_PAGES
        div ebx
        mov ebx, edx                    ; page
        shl edx, 12
        mov eax, ebx
        imul eax, eax, 68
        and eax, 0xFFC
        add edx, eax
        imul eax, ebx, 0x01010101
        xor eax, edx
        mov [DEMAND_BASE + edx], eax    ; first touch of the page: it faults
        mov [DEMAND_BASE + edx + 4], ebx ; second: it does not
        inc ecx
        cmp ecx, DEMAND_PAGES
        jb .write
        mov ebx, [demand_faults]
        mov esi, DEMAND_BASE            ; checksum the whole area
        xor edx, edx
        mov ecx, DEMAND_PAGES * 1024
.sum:   lodsd
        rol edx, 1
        add edx, eax
        loop .sum
        mov dword [isr_hooks + 14 * 4], 0
        PUTS "demand paging: "
        PDEC ebx
        PUTS " faults, "
        PDEC [tables_made]
        PUTS " page tables, checksum="
        PHEX edx
        NL
        xor ecx, ecx
.log:   PUTS "  fault cr2="
        PHEX [demand_log + ecx * 8]
        PUTS " error="
        PHEX [demand_log + ecx * 8 + 4]
        NL
        inc ecx
        cmp ecx, 4
        jb .log
        ret

; --- accessed and dirty bits --------------------------------------------------
%macro PRINT_AD 2                       ; "label", address of the entry
        PUTS %1
        mov eax, [%2]
        and eax, PTE_A | PTE_D
        PHEX8 al
%endmacro

test_accessed_dirty:
        mov edi, page_dir               ; for map_page / pte_addr
        mov eax, DEMAND_BASE
        call pte_addr
        mov esi, eax                                    ; ESI = PTE
        mov edi, (DEMAND_BASE >> 22) * 4 + page_dir     ; EDI = PDE
        and dword [esi], ~(PTE_A | PTE_D)
        and dword [edi], ~(PTE_A | PTE_D)
        invlpg [DEMAND_BASE]
        PRINT_AD "a/d bits: cleared pte=", esi
        PRINT_AD " pde=", edi
        NL
        mov eax, [DEMAND_BASE]
        PRINT_AD "  after read pte=", esi
        PRINT_AD " pde=", edi
        NL
        mov [DEMAND_BASE], eax
        PRINT_AD "  after write pte=", esi
        PRINT_AD " pde=", edi
        NL
        and dword [esi], ~(PTE_A | PTE_D)               ; clear without INVLPG
        mov eax, cr3
        mov cr3, eax
        mov [DEMAND_BASE + 8], eax
        PRINT_AD "  cleared, cr3 reload, write pte=", esi
        NL
        ret

; --- CR0.WP -----------------------------------------------------------------------
test_write_protect:
        mov edi, page_dir               ; for map_page / pte_addr
        mov eax, DEMAND_BASE + 4096
        call pte_addr
        and dword [eax], ~PTE_RW
        invlpg [DEMAND_BASE + 4096]
        PUTS "ring 0 write to read-only page, WP=0: "
        TRY
        mov dword [DEMAND_BASE + 4096], 1
        CATCH
        call report_fault
        mov eax, cr0
        or eax, CR0_WP
        mov cr0, eax
        PUTS "ring 0 write to read-only page, WP=1: "
        TRY
        mov dword [DEMAND_BASE + 4096], 2
        CATCH
        call report_fault
        mov eax, cr0
        and eax, ~CR0_WP
        mov cr0, eax
        ret

; --- U/S and R/W combined across the two levels -----------------------------------
test_user_supervisor:
        mov edi, page_dir               ; for map_page / pte_addr
        call frame_alloc
        lea ebx, [eax + PTE_URW]
        mov eax, US_BASE
        call map_page
        and dword [page_dir + (US_BASE >> 22) * 4], ~PTE_US     ; PDE supervisor
        call frame_alloc
        lea ebx, [eax + PTE_URW]
        mov eax, RO_BASE
        call map_page
        and dword [page_dir + (RO_BASE >> 22) * 4], ~PTE_RW     ; PDE read-only
        mov eax, cr3
        mov cr3, eax
        USER_CASE "ring 3 read, PDE U=0 PTE U=1", user_read_us, EFLAGS_BASE
        USER_CASE "ring 3 read, PDE RW=0 PTE RW=1", user_read_ro, EFLAGS_BASE
        USER_CASE "ring 3 write, PDE RW=0 PTE RW=1", user_write_ro, EFLAGS_BASE
        PUTS "ring 0 write, PDE RW=0, WP=0: "
        TRY
        mov dword [RO_BASE], 1
        CATCH
        call report_fault
        ret

user_read_us:
        USER_TRY mov eax, [US_BASE]
user_read_ro:
        USER_TRY mov eax, [RO_BASE + 4]
user_write_ro:
        USER_TRY mov dword [RO_BASE + 8], 3

; --- INVLPG and CR3 reload after a PTE change ---------------------------------------
test_invlpg:
        mov edi, page_dir               ; for map_page / pte_addr
        call frame_alloc
        mov [frame_a], eax
        mov dword [eax], 0xAAAA0001
        call frame_alloc
        mov [frame_b], eax
        mov dword [eax], 0xBBBB0002
        mov ebx, [frame_a]
        or ebx, PTE_URW
        mov eax, MAP_BASE
        call map_page
        mov eax, MAP_BASE + 4096
        call map_page
        mov ebx, [MAP_BASE]                     ; both cached now
        mov ebx, [MAP_BASE + 4096]
        mov eax, MAP_BASE
        call pte_addr
        mov ecx, [frame_b]
        or ecx, PTE_URW
        mov [eax], ecx                          ; both to frame B
        mov [eax + 4], ecx
        invlpg [MAP_BASE]
        PUTS "after PTE change + invlpg: "
        PHEX [MAP_BASE]
        NL
        mov eax, cr3
        mov cr3, eax
        PUTS "after PTE change + cr3 reload: "
        PHEX [MAP_BASE + 4096]
        NL
        mov eax, MAP_BASE
        call pte_addr
        and dword [eax], ~PTE_P
        invlpg [MAP_BASE]
        PUTS "after PTE cleared + invlpg: "
        TRY
        mov eax, [MAP_BASE]
        CATCH
        call report_fault
        ret

; --- 4 MiB pages ----------------------------------------------------------------
test_big_pages:
        mov eax, cr4
        or eax, CR4_PSE
        mov cr4, eax
        mov dword [page_dir + (BIG_BASE >> 22) * 4], BIG_FRAME + PTE_PS + PTE_URW
        mov dword [BIG_BASE + 0x123454], 0xB16B00B5
        mov eax, [BIG_FRAME + 0x123454]
        PUTS "4 MiB page: write at 0x80123454 read at phys 0x00523454: "
        PHEX eax
        NL
        PRINT_AD "  pde a/d=", page_dir + (BIG_BASE >> 22) * 4
        NL
        mov dword [page_dir + (BIG_BASE >> 22) * 4], BIG_FRAME + PTE_PS + PTE_P + PTE_US
        invlpg [BIG_BASE + 0x123000]            ; one INVLPG drops the whole 4 MiB page
        PUTS "4 MiB page made read-only, WP=1, write: "
        mov eax, cr0
        or eax, CR0_WP
        mov cr0, eax
        TRY
        mov dword [BIG_BASE + 0x3FFFFC], 1
        CATCH
        call report_fault
        mov eax, cr0
        and eax, ~CR0_WP
        mov cr0, eax
        PUTS "  cr2="
        PHEX [fault_cr2]
        NL
        ret

; --- global pages -------------------------------------------------------------------
; Whether a global translation survives a CR3 reload is not architectural (the
; TLB may drop it any time): that line is a '#' comment. INVLPG and clearing
; CR4.PGE must drop it.
test_global:
        mov edi, page_dir               ; for map_page / pte_addr
        mov eax, cr4
        or eax, CR4_PGE
        mov cr4, eax
        mov ebx, [frame_a]
        or ebx, PTE_URW | PTE_G
        mov eax, MAP_BASE + 2 * 4096
        call map_page
        mov eax, [MAP_BASE + 2 * 4096]          ; cached, global
        mov eax, MAP_BASE + 2 * 4096
        call pte_addr
        mov ecx, [frame_b]
        or ecx, PTE_URW | PTE_G
        mov [eax], ecx
        mov eax, cr3
        mov cr3, eax
        PUTS "# global page after PTE change + cr3 reload: "
        PHEX [MAP_BASE + 2 * 4096]
        NL
        mov ecx, [frame_a]
        or ecx, PTE_URW | PTE_G
        mov eax, MAP_BASE + 2 * 4096
        call pte_addr
        mov [eax], ecx
        mov eax, cr4
        and eax, ~CR4_PGE
        mov cr4, eax
        PUTS "global page after PTE change + CR4.PGE cleared: "
        PHEX [MAP_BASE + 2 * 4096]
        NL
        mov eax, cr4
        or eax, CR4_PGE
        mov cr4, eax
        mov eax, [MAP_BASE + 2 * 4096]
        mov eax, MAP_BASE + 2 * 4096
        call pte_addr
        mov ecx, [frame_b]
        or ecx, PTE_URW | PTE_G
        mov [eax], ecx
        invlpg [MAP_BASE + 2 * 4096]
        PUTS "global page after PTE change + invlpg: "
        PHEX [MAP_BASE + 2 * 4096]
        NL
        ret
