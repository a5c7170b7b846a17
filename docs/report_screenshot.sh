#!/usr/bin/env bash
# Makes docs/report.png, the screenshot of an evaluate report that the README shows: 40 motif scaffolds from the
# default model, evaluated with the defaults, the page opened in headless Chromium (Debian's package).
# Run from the checkout: bash docs/report_screenshot.sh
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
protdidi generate --quiet --n 40 --nfe 16 --seed 0 --motif 10-40,HHHEEKWR,5-15,CPGC,10-40 --length 60-100 \
    -o "$work/motifs.fasta"
protdidi evaluate --quiet "$work/motifs.fasta" -o "$work/report" > /dev/null
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,2000 \
    --screenshot="$work/report.png" "file://$work/report/report.html" 2> /dev/null
python -c "
from PIL import Image
Image.open('$work/report.png').convert('RGB').quantize(colors=128).save('docs/report.png', optimize=True)
"
