#!/bin/sh
# pictures.sh - PNG pictures of every label kind under docs/labels/
#
# What people see before they print: the 100 x 150 mm label (PDF, plain and
# with every TT 17 field), A6, the A4 sheet of four, ZPL as a printer would
# draw it (zpl-renderer-js, both flavours), the SVG (rsvg-convert) and the
# handover manifest. Run by make label-pictures; BCCI_BUILD names the build
# holding tests/label_test (default build/san).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/docs/labels"

. "$here/lib.sh"
labels_setup
work=$(mktemp -d -t bcci-pictures.XXXXXX)
trap 'rm -rf "$work"' EXIT
labels_samples "$work"
mkdir -p "$out"

# pdf_png PDF DPI NAME - page 1 of a PDF as docs/labels/NAME.png
pdf_png() {
    pdftoppm -r "$2" -png -singlefile -f 1 -l 1 "$work/$1" "$out/$3"
    echo "docs/labels/$3.png"
}

pdf_png label-100x150.pdf 120 label-100x150-pdf
pdf_png label-tt17.pdf 120 label-100x150-tt17-pdf
pdf_png label-a6.pdf 120 label-a6-pdf
pdf_png sheet-a4.pdf 60 sheet-a4-pdf
pdf_png manifest.pdf 80 manifest-pdf
for spec in "label-100x150-203 100 150 8 label-100x150-zpl" "label-100x150-203-font 100 150 8 label-100x150-zpl-font" \
            "label-tt17-203 100 150 8 label-100x150-tt17-zpl"; do
    set -- $spec
    node "$here/zpl_render.mjs" "$work/$1.zpl" "$2" "$3" "$4" "$work/$1" >/dev/null 2>"$work/render.log" ||
        { cat "$work/render.log" >&2; exit 1; }
    cp "$work/$1-1.png" "$out/$5.png"
    echo "docs/labels/$5.png"
done
rsvg-convert -b white --dpi-x 120 --dpi-y 120 -f png -o "$out/label-100x150-svg.png" "$work/label-100x150.svg"
echo "docs/labels/label-100x150-svg.png"
