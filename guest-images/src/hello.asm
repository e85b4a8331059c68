; hello: the smallest guest. One line on COM1, then exit value 0 on port 0xF4.
%include "lib/kernel.inc"

main:
        PUTSLN "Hello from a Trapeze guest!"
        xor eax, eax
        jmp exit_value
