#!/bin/sh
# Run each guest image on QEMU (TCG) and compare with expected/:
#   expected/NAME.txt     serial output without the '#' comment lines
#   expected/NAME.status  QEMU's exit status (isa-debug-exit: value*2+1)
#   expected/NAME.cmd     extra QEMU arguments for this image (optional)
#   expected/NAME.input   typed on the serial port, after 3 s for the guest to start (optional)
# Usage: ./verify-qemu.sh [--record] [NAME...]   (default: every NAME.elf and NAME.img here)
# A NAME.img is a raw disk image: QEMU's BIOS boots it from the IDE master (on a copy).
# --record writes the expected files from this run instead of comparing.
# --elf-path runs copies whose multiboot flags lack bit 16, so QEMU loads the
#   ELF program headers instead of the a.out-kludge addresses (same output).
cd "$(dirname "$0")" || exit 2
QEMU=${QEMU:-qemu-system-i386}
record=0
elfpath=0
if [ "$1" = "--record" ]; then record=1; shift; fi
if [ "$1" = "--elf-path" ]; then elfpath=1; shift; fi
names="$*"
[ -n "$names" ] || names=$(ls *.elf *.img | sed 's/\.\(elf\|img\)$//')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
for name in $names; do
    extra=""
    [ -f "expected/$name.cmd" ] && extra=$(cat "expected/$name.cmd")
    # QEMU runs in $tmp on a copy: the multiboot command line starts with the
    # kernel file name as given, here always "NAME.elf"
    kernel="$tmp/$name.elf"
    if [ -f "$name.img" ]; then
        cp "$name.img" "$tmp/$name.img"
        boot="-drive file=$name.img,format=raw,if=ide"
    elif [ -f "$name.elf" ]; then
        cp "$name.elf" "$kernel"
        boot="-kernel $name.elf"
    else
        echo "FAIL $name: no $name.elf or $name.img"; failed=1; continue
    fi
    if [ $elfpath = 1 ] && [ -f "$kernel" ]; then
        # header = magic 0x1BADB002, flags, checksum: flags 0x3, checksum 0xE4524FFB
        off=$(grep -obUaP '\x02\xb0\xad\x1b' "$name.elf" | head -1 | cut -d: -f1)
        printf '\003\000\000\000\373\117\122\344' |
            dd of="$kernel" bs=1 seek=$((off + 4)) conv=notrunc 2>/dev/null
    fi
    # expected/NAME.cmd is shell-quoted (e.g. -append "a b"): eval splits it
    eval "set -- $extra"
    if [ -f "expected/$name.input" ]; then
        mkfifo "$tmp/$name.in"
        (sleep 3; cat "expected/$name.input") >"$tmp/$name.in" &
    else
        : >"$tmp/$name.in"
    fi
    (cd "$tmp" && exec timeout 20 "$QEMU" -accel tcg -cpu pentium3 -m 32 \
        $boot -display none -serial stdio -monitor none -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 "$@" \
        <"$tmp/$name.in" >"$tmp/$name.raw" 2>"$tmp/$name.err")
    status=$?
    if [ -s "$tmp/$name.err" ]; then cat "$tmp/$name.err" >&2; fi
    grep -v '^#' "$tmp/$name.raw" >"$tmp/$name.txt"
    if [ $record = 1 ]; then
        cp "$tmp/$name.txt" "expected/$name.txt"
        echo "$status" >"expected/$name.status"
        echo "recorded $name: status $status, $(wc -l <"expected/$name.txt") lines"
        continue
    fi
    want=$(cat "expected/$name.status" 2>/dev/null)
    if [ "$status" != "$want" ]; then
        echo "FAIL $name: status $status, expected $want"; failed=1
        cat "$tmp/$name.err"
    elif ! diff -u "expected/$name.txt" "$tmp/$name.txt"; then
        echo "FAIL $name: output differs"; failed=1
    else
        echo "ok   $name (status $status)"
    fi
done
exit $failed
