; fpu: the x87 FPU. Memory formats (80-bit round trip, integers, BCD),
; arithmetic at double precision (PC = 53 bits, so the results are the
; correctly rounded doubles), rounding control, comparisons, constants,
; transcendentals (printed as singles), masked exceptions, #MF at the next
; waiting instruction, #NM from CR0.EM/TS/MP, FNSAVE/FRSTOR, FCMOVcc, FXCH.
%include "lib/kernel.inc"

CR0_MP equ 1 << 1
CR0_EM equ 1 << 2
CR0_TS equ 1 << 3
CR0_NE equ 1 << 5

; P64 mem: a 64-bit value in hex; P80 mem: an 80-bit one (exponent first)
%macro P64 1
        PHEX [%1 + 4]
        PHEX [%1]
%endmacro
%macro P80 1
        PHEX16 [%1 + 8]
        PUTS ":"
        P64 %1
%endmacro
; PSW: the status word
%macro PSW 0
        fnstsw [sw]
        PUTS " sw="
        PHEX16 [sw]
%endmacro
; ST0_64 / ST0_32: pop ST(0) as a double / single and print it
%macro ST0_64 0
        fstp qword [q]
        P64 q
%endmacro
%macro ST0_32 0
        fstp dword [q]
        PHEX [q]
%endmacro

[section .data]
align 16
pi80:   dq 0xC90FDAA22168C235
        dw 0x4000
den80:  dq 0x0000000000012345           ; a denormal, negative
        dw 0x8000
nan80:  dq 0xC000000000ABCDEF           ; a quiet NaN with a payload
        dw 0x7FFF
max80:  dq 0xFFFFFFFFFFFFFFFF
        dw 0x7FFE
i64max: dq 0x7FFFFFFFFFFFFFFF
i32v:   dd -123456789
f32v:   dd 0x3F8CCCCD                   ; 1.1f
bcdv:   dq 0x5634129078563412           ; -123456789012345678 (digits low first)
        dw 0x8012
three:  dd 3
ten:    dd 10
four:   dd 4
two_5:  dq 2.5
m2_5:   dq -2.5
big:    dq 1.0e10
e300:   dq 1.0e300
tenth:  dq 0.1
fifth:  dq 0.2
half:   dq 0.5
one:    dq 1.0
eight:  dq 8.0
seven:  dq 7.0
minus7: dq -7.0
two:    dq 2.0
three5: dq 3.5
cw_dbl: dw 0x027F                       ; all masked, double precision, nearest
cw_zm:  dw 0x027B                       ; zero divide unmasked
cw_rc:  dw 0

[section .bss]
alignb 16
q:      resq 2
sw:     resw 1
cw:     resw 1
ist:    resd 2
env:    resb 32
save:   resb 112
save2:  resb 112

[section .text]
main:
        mov eax, cr0
        and eax, ~(CR0_EM | CR0_TS)
        or eax, CR0_MP | CR0_NE
        mov cr0, eax
        fninit
        CASE "fninit"
        fnstenv [env]
        PHEX16 [env]
        PUTS " "
        PHEX16 [env + 4]
        PUTS " "
        PHEX16 [env + 8]
        NL
        call formats
        call arithmetic
        call rounding
        call comparisons
        call constants
        call functions
        call exceptions
        call unmasked
        call device_na
        call save_restore
        call moves
        jmp exit_pass

formats:
        CASE "m80 pi"
        fld tword [pi80]
        fstp tword [q]
        P80 q
        NL
        CASE "m80 denormal"
        fld tword [den80]
        fstp tword [q]
        P80 q
        NL
        CASE "m80 nan"
        fld tword [nan80]
        fstp tword [q]
        P80 q
        NL
        CASE "m80 max"
        fld tword [max80]
        fstp tword [q]
        P80 q
        NL
        CASE "m64int max"
        fild qword [i64max]
        fistp qword [q]
        P64 q
        NL
        CASE "m32int to m64fp"
        fild dword [i32v]
        ST0_64
        NL
        CASE "m32fp to m64fp"
        fld dword [f32v]
        ST0_64
        NL
        CASE "m64fp to m32fp"
        fld qword [tenth]
        ST0_32
        NL
        CASE "bcd"
        fbld tword [bcdv]
        fld st0
        fistp qword [q]
        P64 q
        PUTS " "
        fbstp tword [q]
        P80 q
        NL
        CASE "m16int"
        fild dword [three]
        fchs
        fistp word [q]
        PHEX16 [q]
        NL
        ret

arithmetic:
        fldcw [cw_dbl]
        CASE "1/3"
        fld1
        fild dword [three]
        fdivp st1, st0
        ST0_64
        NL
        CASE "sqrt 2"
        fld qword [two]
        fsqrt
        ST0_64
        NL
        CASE "0.1+0.2"
        fld qword [tenth]
        fadd qword [fifth]
        ST0_64
        NL
        CASE "1e300*1e300 (80-bit)"
        fld qword [e300]
        fmul st0, st0
        fstp tword [q]
        P80 q
        NL
        CASE "sub forms"
        fild dword [ten]
        fild dword [four]               ; st0 = 4, st1 = 10
        fld st1
        fsub st0, st1                   ; 10 - 4
        fistp dword [ist]
        PDEC [ist]
        PUTS " "
        fld st0
        fsubr st0, st2                  ; 10 - 4
        fistp dword [ist]
        PDEC [ist]
        PUTS " "
        fld st0
        fsub st2, st0                   ; st2 = 10 - 4: DC E8+i
        fstp st0
        fld st1
        fistp dword [ist]
        PDEC [ist]
        PUTS " "
        fsubrp st1, st0                 ; st1 = 4 - 6 = -2: DE E0+i... then pop
        fistp dword [ist]
        PHEX [ist]
        PUTS " "
        fild dword [ten]
        fidiv dword [four]
        fisubr dword [ten]              ; 10 - 2.5
        ST0_64
        NL
        CASE "div forms"
        fild dword [ten]
        fild dword [four]
        fdivr st0, st1                  ; 10 / 4
        ST0_64
        PUTS " "
        fild dword [four]
        fdivrp st1, st0                 ; 4 / 10
        ST0_64
        NL
        ret

; FIST and FRNDINT of 2.5 and -2.5 under each rounding mode
rounding:
        xor ecx, ecx
.mode:  mov eax, ecx
        shl eax, 10
        or eax, 0x027F
        mov [cw_rc], ax
        fldcw [cw_rc]
        CASE "rc"
        PDEC ecx
        PUTS " "
        fld qword [two_5]
        fistp dword [ist]
        PHEX [ist]
        PUTS " "
        fld qword [m2_5]
        fistp dword [ist]
        PHEX [ist]
        PUTS " "
        fld qword [m2_5]
        frndint
        ST0_64
        PUTS " 1/3="
        fld1
        fidiv dword [three]
        ST0_32
        NL
        inc ecx
        cmp ecx, 4
        jb .mode
        fldcw [cw_dbl]
        ret

comparisons:
        CASE "fcom"
        fld qword [two]
        fld qword [three5]
        fcom st1                        ; 3.5 > 2
        PSW
        fcom qword [three5]             ; equal
        PSW
        fcomp qword [e300]              ; less, pop
        PSW
        fstp st0
        NL
        CASE "fcomi"
        fld qword [two]
        fld qword [three5]
        fcomi st0, st1
        pushfd
        pop eax
        and eax, 0x8D5
        PHEX eax
        fxch st1
        fcomip st0, st1
        pushfd
        pop eax
        and eax, 0x8D5
        PUTS " "
        PHEX eax
        fld tword [nan80]
        fucomip st0, st1                ; unordered, quiet: no IE
        pushfd
        pop eax
        and eax, 0x8D5
        PUTS " "
        PHEX eax
        PSW
        fstp st0
        NL
        CASE "ftst fxam"
        fldz
        ftst
        PSW
        fxam
        PSW
        fchs
        fxam
        PSW
        fstp st0
        fld tword [den80]
        fxam
        PSW
        fstp st0
        fld tword [nan80]
        fxam
        PSW
        fstp st0
        fxam                            ; empty
        PSW
        fld1
        fdiv qword [e300]
        fxam
        PSW
        fstp st0
        NL
        fnclex
        ret

constants:
        CASE "constants"
        fld1
        fldl2t
        fldl2e
        fldpi
        fldlg2
        fldln2
        fldz
        mov ecx, 7
.pop:   fstp tword [q]
        PUTS " "
        PHEX16 [q + 8]
        P64 q
        loop .pop
        NL
        ret

functions:
        CASE "sin cos tan"
        fld1
        fsin
        ST0_32
        PUTS " "
        fld1
        fcos
        ST0_32
        PUTS " "
        fld qword [half]
        fptan
        ST0_32                          ; the pushed 1.0
        PUTS " "
        ST0_32
        PUTS " "
        fld qword [half]
        fsincos
        ST0_32
        PUTS " "
        ST0_32
        NL
        CASE "atan 2xm1 yl2x yl2xp1"
        fld1
        fld1
        fpatan                          ; pi/4
        ST0_32
        PUTS " "
        fld qword [half]
        f2xm1
        ST0_32
        PUTS " "
        fld qword [three5]
        fld qword [eight]
        fyl2x                           ; 3.5 * 3
        ST0_64
        PUTS " "
        fld1
        fld qword [fifth]
        fyl2xp1
        ST0_32
        NL
        CASE "fscale fxtract"
        fld qword [seven]
        fld qword [three5]
        fscale                          ; 3.5 * 2^7
        ST0_64
        fstp st0
        PUTS " "
        fld qword [e300]
        fxtract
        ST0_64
        PUTS " "
        ST0_64
        NL
        CASE "fprem fprem1"
        fld qword [seven]
        fld qword [eight]
        fprem1                          ; 8 rem 7 = 1, quotient 1
        ST0_64
        fstp st0
        PUTS " "
        fild dword [three]
        fild dword [ten]
        fprem                           ; 10 mod 3 = 1, quotient 3
        PSW
        ST0_64
        fstp st0
        PUTS " "
        fld qword [three5]
        fld qword [seven]
        fprem                           ; 7 mod 3.5 = 0, quotient 2
        PSW
        ST0_64
        fstp st0
        PUTS " "
        fld qword [three5]
        fld qword [minus7]
        fld qword [two]
        fdivp st1, st0                  ; -3.5
        fabs
        fprem1                          ; 3.5 rem 3.5 = 0, quotient 1
        ST0_64
        fstp st0
        NL
        fnclex
        ret

exceptions:
        CASE "zero divide"
        fld1
        fldz
        fdivp st1, st0
        PSW
        ST0_64
        NL
        fnclex
        CASE "0/0"
        fldz
        fldz
        fdivp st1, st0
        PSW
        ST0_64
        NL
        fnclex
        CASE "fist out of range"
        fld qword [big]
        fistp word [q]
        PHEX16 [q]
        PSW
        NL
        fnclex
        CASE "inexact store"
        fld1
        fidiv dword [three]
        fstp dword [q]
        PSW
        NL
        fnclex
        CASE "double overflow on store"
        fld qword [e300]
        fmul st0, st0
        fstp qword [q]
        P64 q
        PSW
        NL
        fnclex
        ret

; An unmasked exception sets ES; #MF waits for the next waiting instruction.
unmasked:
        fldcw [cw_zm]
        CASE "unmasked ZE"
        fld1
        fldz
        fdiv st1, st0                   ; no fault here; st1 is left alone
        PSW
        TRY
        fwait
        CATCH
        PUTS " vector="
        PHEX8 [fault_vector]
        fnclex
        fstp st0
        fstp st0
        NL
        CASE "no-wait fnstsw"
        fld1
        fldz
        fdiv st1, st0
        fnstsw ax
        PHEX16 ax
        fninit
        fldcw [cw_dbl]
        NL
        ret

device_na:
        CASE "NM"
        mov eax, cr0
        or eax, CR0_TS
        mov cr0, eax
        TRY
        fld1
        CATCH
        PHEX8 [fault_vector]
        TRY
        fwait                           ; TS and MP
        CATCH
        PUTS " "
        PHEX8 [fault_vector]
        mov eax, cr0
        and eax, ~CR0_MP
        mov cr0, eax
        TRY
        fwait                           ; TS without MP: no fault
        CATCH
        PUTS " "
        PHEX [fault_vector]
        mov eax, cr0
        and eax, ~CR0_TS
        or eax, CR0_EM | CR0_MP
        mov cr0, eax
        TRY
        fldz
        CATCH
        PUTS " "
        PHEX8 [fault_vector]
        mov eax, cr0
        and eax, ~CR0_EM
        mov cr0, eax
        NL
        ret

save_restore:
        CASE "fnsave"
        fld qword [three5]
        fld tword [pi80]
        fnsave [save]
        PHEX16 [save]
        PUTS " "
        PHEX16 [save + 4]
        PUTS " "
        PHEX16 [save + 8]
        PUTS " after="
        fnstenv [env]
        PHEX16 [env]
        PUTS " "
        PHEX16 [env + 8]
        PUTS " st0="
        P80 save + 28
        NL
        CASE "frstor"
        frstor [save]
        fnsave [save2]
        frstor [save2]
        fstp tword [q]
        P80 q
        PUTS " "
        ST0_64
        NL
        fldcw [cw_dbl]
        ret

moves:
        CASE "fcmov"
        fld qword [two]
        fld qword [three5]              ; st0 = 3.5, st1 = 2
        mov eax, 1
        cmp eax, 2                      ; CF = 1
        fcmovnb st0, st1                ; not taken
        fcmovb st0, st1                 ; taken: st0 = 2
        ST0_64
        fstp st0
        PUTS " "
        fld qword [two]
        fld qword [three5]
        cmp eax, eax                    ; ZF = 1
        fcmovne st0, st1                ; not taken
        ST0_64
        fstp st0
        NL
        CASE "fxch ffree fincstp"
        fld qword [two]
        fld qword [three5]
        fxch st1
        fst qword [q]
        P64 q
        ffree st1
        fnstenv [env]
        PUTS " tw="
        PHEX16 [env + 8]
        fincstp
        PSW
        fdecstp
        PSW
        fninit
        NL
        ret
