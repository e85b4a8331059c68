; mbinfo: what the multiboot loader handed over.
;   the EAX magic, the info flags, mem_lower / mem_upper, the command line
;   every memory-map entry (base, length, type), and each module (its size,
;   whether it starts on a page, its first bytes and its string) when there are any.
; The output depends on QEMU's -m and -append: see expected/mbinfo.cmd.
%include "lib/kernel.inc"
%include "lib/cmdline.inc"

[section .text]
main:
        PUTS "magic="
        PHEX [mb_magic]
        cmp dword [mb_magic], MB_BOOT_MAGIC
        je .magic_ok
        NL
        FAIL "bad multiboot magic"
.magic_ok:
        PUTSLN " ok"
        mov ebx, [mb_info]
        PUTS "flags="
        PHEX [ebx + MBI_FLAGS]
        NL
        test dword [ebx + MBI_FLAGS], 1 << 0
        jz .no_mem
        PUTS "mem_lower="
        PHEX [ebx + MBI_MEM_LOWER]
        PUTS " mem_upper="
        PHEX [ebx + MBI_MEM_UPPER]
        NL
.no_mem:
        test dword [ebx + MBI_FLAGS], 1 << 2
        jz .no_cmdline
        PUTS "cmdline='"
        mov esi, [ebx + MBI_CMDLINE]
        call puts
        PUTSLN "'"
.no_cmdline:
        test dword [ebx + MBI_FLAGS], 1 << 3
        jz .no_mods
        mov ecx, [ebx + MBI_MODS_COUNT]
        mov esi, [ebx + MBI_MODS_ADDR]
.module:
        test ecx, ecx
        jz .no_mods
        PUTS "module size="
        mov eax, [esi + 4]
        sub eax, [esi]
        PHEX eax
        PUTS " page="
        mov eax, [esi]
        and eax, 0xfff
        PHEX eax
        PUTS " bytes="
        mov edx, [esi]
        PHEX8 [edx]
        PHEX8 [edx + 1]
        PHEX8 [edx + 2]
        PHEX8 [edx + 3]
        PUTS " string='"
        push esi
        mov esi, [esi + 8]
        call puts
        pop esi
        PUTSLN "'"
        add esi, 16
        dec ecx
        jmp .module
.no_mods:
        test dword [ebx + MBI_FLAGS], 1 << 6
        jz .done
        mov esi, [ebx + MBI_MMAP_ADDR]
        mov edi, esi
        add edi, [ebx + MBI_MMAP_LENGTH]
.entry: cmp esi, edi
        jae .done
        PUTS "mmap base="
        PHEX [esi + 8]
        PHEX [esi + 4]
        PUTS " length="
        PHEX [esi + 16]
        PHEX [esi + 12]
        PUTS " type="
        PDEC [esi + 20]
        NL
        mov eax, [esi]                  ; size of the entry, not counting itself
        lea esi, [esi + eax + 4]
        jmp .entry
.done:  ret
