// zpl_render.mjs - ZPL to PNG with zpl-renderer-js (zebrash compiled to
// WebAssembly; runs offline, no label service), so that the labels the
// gateway sends to printers are checked by a renderer that is not ours.
//
// usage: node zpl_render.mjs FILE.zpl WIDTH_MM HEIGHT_MM DOTS_PER_MM OUT_PREFIX
// writes OUT_PREFIX-1.png, OUT_PREFIX-2.png, ... (one per ^XA..^XZ) and
// prints how many it wrote.
import fs from "node:fs";
import { ready } from "zpl-renderer-js";

const [, , input, widthMm, heightMm, dpmm, prefix] = process.argv;
if (!prefix) {
    console.error("usage: node zpl_render.mjs FILE.zpl WIDTH_MM HEIGHT_MM DOTS_PER_MM OUT_PREFIX");
    process.exit(2);
}
const { api } = await ready;
const pngs = await api.zplToBase64MultipleAsync(fs.readFileSync(input, "utf8"), Number(widthMm),
                                                Number(heightMm), Number(dpmm));
pngs.forEach((png, i) => fs.writeFileSync(`${prefix}-${i + 1}.png`, Buffer.from(png, "base64")));
console.log(pngs.length);
