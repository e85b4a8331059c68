; compute: the benchmark guest. Each iteration does integer work with loads,
; stores, calls and branches on an array of 1,000 words:
;   fill with a xorshift32 PRNG, fold with a called mixing function,
;   CRC32 (bit by bit) of the 4,000 bytes, recursive quicksort, then a
;   sortedness check and a weighted sum (with a multiply and a divide).
; The iteration count comes from the command line (`iterations=N`).
; Output: `checksum=XXXXXXXX` (deterministic) and `# cycles=N` (RDTSC).
%include "lib/kernel.inc"
%include "lib/cmdline.inc"

N               equ 1000
DEFAULT_ITERS   equ 1600

[section .bss]
alignb 4
array:          resd N
seed:           resd 1
iterations:     resd 1
tsc_start:      resq 1

[section .text]
main:
        mov eax, DEFAULT_ITERS
        mov esi, key_iterations
        call cmdline_uint
        mov [iterations], eax
        PUTS "iterations="
        PDEC [iterations]
        NL
        mov dword [seed], 0x12345678
        rdtsc
        mov [tsc_start], eax
        mov [tsc_start + 4], edx
        xor edi, edi                    ; EDI = running checksum
        mov ecx, [iterations]
        test ecx, ecx
        jz .done
.iter:  push ecx
        call fill
        call fold
        xor edi, eax
        call crc32
        rol edi, 5
        xor edi, eax
        mov ebx, array
        xor ecx, ecx
        mov edx, N - 1
        push edi
        call qsort
        pop edi
        call weigh
        add edi, eax
        pop ecx
        dec ecx
        jnz .iter
.done:  rdtsc
        sub eax, [tsc_start]
        sbb edx, [tsc_start + 4]
        PUTS "checksum="
        PHEX edi
        NL
        PUTS "# cycles="
        call print_dec64
        NL
        ret

; fill: array[i] = next xorshift32 value
fill:
        mov eax, [seed]
        xor ecx, ecx
.next:  mov edx, eax
        shl edx, 13
        xor eax, edx
        mov edx, eax
        shr edx, 17
        xor eax, edx
        mov edx, eax
        shl edx, 5
        xor eax, edx
        mov [array + ecx * 4], eax
        inc ecx
        cmp ecx, N
        jb .next
        mov [seed], eax
        ret

; fold: EAX = mix over the array, one call per element
fold:
        xor eax, eax
        xor ecx, ecx
.next:  mov edx, [array + ecx * 4]
        call mix
        inc ecx
        cmp ecx, N
        jb .next
        ret

; mix: EAX = rol(EAX * 31, 3) + (EDX ^ ECX)
mix:
        imul eax, eax, 31
        rol eax, 3
        xor edx, ecx
        add eax, edx
        ret

; crc32: EAX = CRC-32 (reflected, poly 0xEDB88320) of the array bytes
crc32:
        push esi
        mov esi, array
        mov ecx, N * 4
        mov eax, 0xFFFFFFFF
.byte:  movzx edx, byte [esi]
        xor eax, edx
        mov dl, 8
.bit:   shr eax, 1
        jnc .nox
        xor eax, 0xEDB88320
.nox:   dec dl
        jnz .bit
        inc esi
        dec ecx
        jnz .byte
        not eax
        pop esi
        ret

; qsort: sort the unsigned dwords EBX[ECX..EDX] (Hoare partition, recursive)
qsort:
        cmp ecx, edx
        jge .ret
        push ecx
        push edx
        lea eax, [ecx + edx]
        shr eax, 1
        mov eax, [ebx + eax * 4]        ; pivot
        lea esi, [ecx - 1]
        lea edi, [edx + 1]
.up:    inc esi
        cmp [ebx + esi * 4], eax
        jb .up
.down:  dec edi
        cmp [ebx + edi * 4], eax
        ja .down
        cmp esi, edi
        jge .split
        mov ecx, [ebx + esi * 4]
        mov edx, [ebx + edi * 4]
        mov [ebx + esi * 4], edx
        mov [ebx + edi * 4], ecx
        jmp .up
.split: pop edx
        pop ecx
        push edx
        push edi
        mov edx, edi
        call qsort                      ; lo .. j
        pop edi
        pop edx
        lea ecx, [edi + 1]
        jmp qsort                       ; j+1 .. hi
.ret:   ret

; weigh: check the order, EAX = sum of array[i] * (i+1) + array[i] mod 1009 every 8th
weigh:
        push edi
        push ebx
        xor edi, edi
        xor ecx, ecx
        mov ebx, 1009
.next:  mov eax, [array + ecx * 4]
        test ecx, ecx
        jz .first
        cmp eax, [array + ecx * 4 - 4]
        jb .unsorted
.first: lea edx, [ecx + 1]
        imul eax, edx
        add edi, eax
        test ecx, 7
        jnz .skip
        mov eax, [array + ecx * 4]
        xor edx, edx
        div ebx
        add edi, edx
.skip:  inc ecx
        cmp ecx, N
        jb .next
        mov eax, edi
        pop ebx
        pop edi
        ret
.unsorted:
        FAIL "array not sorted"

[section .rodata]
key_iterations: db "iterations=", 0
