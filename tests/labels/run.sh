#!/bin/sh
# run.sh - label outputs checked by tools that are not ours
#
# Installs what is missing and has label_test write one label of every kind
# (lib.sh: labels_setup, labels_samples), then:
#   zpl, zpl-font   rendered by zpl-renderer-js (zebrash, WebAssembly, offline)
#                   at 203 and 300 dpi; zbarimg must read the QR and the
#                   Code 128, and the Code 128 must be centred
#   pdf, pdf-a4     qpdf --check; the A4 sheet's page size and its QR
#   svg             rsvg-convert at 203 and 300 dpi: the PNG has the label's
#                   size in pixels and zbarimg reads it
# Prints each check and "N passed, N failed"; exits non-zero on a failure.
# The build to use: BCCI_BUILD (default build/san), which holds tests/label_test.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

. "$here/lib.sh"
labels_setup
work=$(mktemp -d -t bcci-labels.XXXXXX)
trap 'rm -rf "$work"' EXIT
labels_samples "$work"

# what label_test's sample() puts in the QR and the Code 128
url="https://hcc.example.gov.vn/t/RR000000014VN?k=el9fYXbI36vwvt6P"
waybill="RR000000014VN"
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

# decodes FILE.png WHAT - zbarimg reads exactly the QR url and the waybill
decodes() {
    got=$(zbarimg --raw -q "$1" 2>/dev/null | sort | tr '\n' ' ' || true)
    want=$(printf '%s\n%s\n' "$url" "$waybill" | sort | tr '\n' ' ')
    if [ "$got" = "$want" ]; then ok "$2: zbarimg reads the QR and the Code 128"
    else bad "$2: zbarimg got \"$got\", want \"$want\""; fi
}

# ZPL: file, width mm, height mm, dots per mm
for spec in "label-100x150-203 100 150 8" "label-100x150-203-font 100 150 8" \
            "label-a6-300 105 148 12" "label-a6-300-font 105 148 12"; do
    set -- $spec
    name=$1
    if n=$(node "$here/zpl_render.mjs" "$work/$name.zpl" "$2" "$3" "$4" "$work/$name" 2>"$work/render.log") &&
        [ "$n" = 1 ]; then
        ok "$name.zpl: zpl-renderer-js draws 1 label"
    else
        bad "$name.zpl: zpl-renderer-js drew \"${n:-nothing}\", want 1 label: $(head -c 300 "$work/render.log")"
        continue
    fi
    decodes "$work/$name-1.png" "$name.zpl"
    # the Code 128 band (19.5 .. 32 mm on 150 mm, scaled on A6); 2 dots of rounding
    if m=$(python3 "$here/png_check.py" centred "$work/$name-1.png" 20 31 "$4" 2); then
        ok "$name.zpl: Code 128 centred ($m)"
    else
        bad "$name.zpl: Code 128 not centred ($m)"
    fi
done

# SVG: true millimetres, so rsvg-convert at a dpi gives the label's size in
# pixels (rounded up, as librsvg does), and what it draws scans
for spec in "label-100x150 203 800x1199" "label-100x150 300 1182x1772" "label-a6 203 840x1183"; do
    set -- $spec
    png="$work/$1-svg-$2.png"
    if ! rsvg-convert -b white --dpi-x "$2" --dpi-y "$2" -f png -o "$png" "$work/$1.svg" 2>"$work/rsvg.log"; then
        bad "$1.svg: rsvg-convert failed: $(head -c 300 "$work/rsvg.log")"
        continue
    fi
    size=$(python3 "$here/png_check.py" size "$png")
    if [ "$size" = "$3" ]; then ok "$1.svg at $2 dpi: $size px"
    else bad "$1.svg at $2 dpi: got $size px, want $3"; fi
    decodes "$png" "$1.svg at $2 dpi"
done

# PDF: qpdf checks the structure of every PDF kind
for name in label-100x150 label-a6 sheet-a4; do
    if qpdf --check "$work/$name.pdf" >"$work/qpdf.log" 2>&1; then ok "$name.pdf: qpdf --check"
    else bad "$name.pdf: qpdf --check: $(tail -n 3 "$work/qpdf.log")"; fi
done
# the A4 sheet: 210 x 297 mm and its one label (of four cells) decodes
if pdftotext -bbox "$work/sheet-a4.pdf" - 2>/dev/null | grep -q '<page width="595.2[0-9]*" height="841.8'; then
    ok "sheet-a4.pdf: A4 page (595.28 x 841.89 pt)"
else
    bad "sheet-a4.pdf: page is not 210 x 297 mm"
fi
pdftoppm -r 203 -png -singlefile -f 1 -l 1 "$work/sheet-a4.pdf" "$work/sheet-a4" 2>/dev/null
# four labels of their own (label_test's write_samples): 4 QR codes, 4 Code 128
qrs=$(zbarimg -q "$work/sheet-a4.png" 2>/dev/null | grep -c '^QR-Code:https://hcc.example.gov.vn/t/RR' || true)
bars=$(zbarimg -q "$work/sheet-a4.png" 2>/dev/null | grep -c '^CODE-128:RR' || true)
if [ "$qrs" = 4 ] && [ "$bars" = 4 ]; then ok "sheet-a4.pdf page 1: zbarimg reads 4 QR codes and 4 Code 128"
else bad "sheet-a4.pdf page 1: zbarimg reads $qrs QR codes and $bars Code 128, want 4 and 4"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
