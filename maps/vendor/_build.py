"""Rebuild the vendored front-end files of maps/vendor/ from the registry tarballs.

Not used at run time: ``maps.assets`` reads the files this script writes. To rebuild (a machine
with npm and pip, no other internet access needed)::

    mkdir /tmp/vendor-src && cd /tmp/vendor-src
    npm pack leaflet@1.9.3 jquery@3.7.1 bootstrap@5.2.2 bootstrap@3.4.1 \\
        @fortawesome/fontawesome-free@6.2.0 drmonty-leaflet-awesome-markers@2.0.2 \\
        iso8601-js-period@0.2.1 leaflet-timedimension@1.1.1 moment@2.18.1
    pip download folium==0.20.0 --no-binary :all: --no-deps -d .
    python maps/vendor/_build.py /tmp/vendor-src

It writes the vendored files, ``licenses/`` and ``PROVENANCE.md`` (the sha256 of every written
file, the sha512 integrity of every tarball as ``npm view <pkg>@<ver> dist.integrity`` prints it).
The transformations are deterministic: a rebuild from the same tarballs gives identical files.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# tarball file name -> (package, version, licence, licence file inside the tarball or None)
TARBALLS = {
    "leaflet-1.9.3.tgz": ("leaflet", "1.9.3", "BSD-2-Clause", "package/LICENSE"),
    "jquery-3.7.1.tgz": ("jquery", "3.7.1", "MIT", "package/LICENSE.txt"),
    "bootstrap-5.2.2.tgz": ("bootstrap", "5.2.2", "MIT", "package/LICENSE"),
    "bootstrap-3.4.1.tgz": ("bootstrap", "3.4.1", "MIT", "package/LICENSE"),
    "fortawesome-fontawesome-free-6.2.0.tgz": (
        "@fortawesome/fontawesome-free", "6.2.0",
        "Font Awesome Free: icons CC-BY-4.0, fonts OFL-1.1, code MIT", "package/LICENSE.txt"),
    "drmonty-leaflet-awesome-markers-2.0.2.tgz": (
        "drmonty-leaflet-awesome-markers", "2.0.2", "MIT (Lennard Voogdt; package.json `licenses`)", None),
    "iso8601-js-period-0.2.1.tgz": (
        "iso8601-js-period", "0.2.1", "Apache-2.0 (header of iso8601.js)", None),
    "leaflet-timedimension-1.1.1.tgz": ("leaflet-timedimension", "1.1.1", "MIT", "package/LICENSE"),
    "moment-2.18.1.tgz": ("moment", "2.18.1", "MIT", "package/LICENSE"),
    "folium-0.20.0.tar.gz": ("folium (PyPI sdist)", "0.20.0", "MIT", "folium-0.20.0/LICENSE.txt"),
}


class Source:
    def __init__(self, folder: Path):
        self.folder = folder
        self._tars: dict[str, tarfile.TarFile] = {}

    def read(self, tarball: str, member: str) -> bytes:
        if tarball not in self._tars:
            self._tars[tarball] = tarfile.open(self.folder / tarball)
        f = self._tars[tarball].extractfile(member)
        if f is None:
            raise FileNotFoundError(f"{tarball}:{member}")
        return f.read()


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) < 1:
        raise ValueError(f"expected text not found: {old[:80]!r}")
    return text.replace(old, new)


def build(src: Path) -> None:
    s = Source(src)
    out: dict[str, tuple[bytes, str, str, str]] = {}  # file -> (bytes, tarball, member(s), how)

    def verbatim(name: str, tarball: str, member: str) -> None:
        out[name] = (s.read(tarball, member), tarball, member, "verbatim")

    # --- Leaflet -------------------------------------------------------------------------
    verbatim("leaflet.js", "leaflet-1.9.3.tgz", "package/dist/leaflet.js")
    img = {n: s.read("leaflet-1.9.3.tgz", f"package/dist/images/{n}")
           for n in ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png",
                     "marker-shadow.png")}
    css = s.read("leaflet-1.9.3.tgz", "package/dist/leaflet.css").decode()
    for n in ("layers-2x.png", "layers.png", "marker-icon.png"):
        css = replace_once(css, f"url(images/{n})", f'url("{data_uri(img[n], "image/png")}")')
    out["leaflet.css"] = (css.encode(), "leaflet-1.9.3.tgz", "package/dist/leaflet.css",
                          "images/layers.png, layers-2x.png, marker-icon.png embedded as data: URIs")
    # Leaflet finds its default marker images through the url of .leaflet-default-icon-path,
    # which must end in marker-icon.png; with a data: URI it cannot, so set them explicitly.
    shim = (
        "/* envq: Leaflet's default marker images as data: URIs (no image path to fetch from) */\n"
        "L.Icon.Default.imagePath = '';\n"
        "L.Icon.Default.mergeOptions({"
        f"iconUrl: '{data_uri(img['marker-icon.png'], 'image/png')}', "
        f"iconRetinaUrl: '{data_uri(img['marker-icon-2x.png'], 'image/png')}', "
        f"shadowUrl: '{data_uri(img['marker-shadow.png'], 'image/png')}'"
        "});\n"
    )
    out["leaflet-default-icon.js"] = (
        shim.encode(), "leaflet-1.9.3.tgz",
        "package/dist/images/marker-icon.png, marker-icon-2x.png, marker-shadow.png",
        "generated: sets L.Icon.Default image options to the data: URIs")

    # --- jQuery, moment, iso8601, TimeDimension ---------------------------------------------
    verbatim("jquery.min.js", "jquery-3.7.1.tgz", "package/dist/jquery.min.js")
    verbatim("moment.min.js", "moment-2.18.1.tgz", "package/min/moment.min.js")
    out["iso8601.js"] = (s.read("iso8601-js-period-0.2.1.tgz", "package/iso8601.js"),
                         "iso8601-js-period-0.2.1.tgz", "package/iso8601.js",
                         "verbatim (the package has no .min.js; the CDN's iso8601.min.js is "
                         "jsDelivr's on-the-fly minification of this file)")
    verbatim("leaflet.timedimension.min.js", "leaflet-timedimension-1.1.1.tgz",
             "package/dist/leaflet.timedimension.min.js")

    glyph_woff2 = s.read("bootstrap-3.4.1.tgz", "package/fonts/glyphicons-halflings-regular.woff2")
    glyph_src = f'src:url("{data_uri(glyph_woff2, "font/woff2")}") format("woff2")'
    css = s.read("leaflet-timedimension-1.1.1.tgz",
                 "package/dist/leaflet.timedimension.control.min.css").decode()
    css, n = re.subn(r"@font-face\{font-family:'Glyphicons Halflings';[^}]*\}",
                     "@font-face{font-family:'Glyphicons Halflings';" + glyph_src + "}", css)
    assert n == 1, n
    out["leaflet.timedimension.control.min.css"] = (
        css.encode(), "leaflet-timedimension-1.1.1.tgz + bootstrap-3.4.1.tgz",
        "package/dist/leaflet.timedimension.control.min.css + package/fonts/glyphicons-halflings-regular.woff2",
        "the @font-face pointing at netdna.bootstrapcdn.com (bootstrap 3.0.0 fonts) replaced by the "
        "Glyphicons woff2 of bootstrap 3.4.1 as a data: URI")

    # --- Bootstrap 5 CSS (its JS bundle is not needed by any folium element we use) ----------
    verbatim("bootstrap.min.css", "bootstrap-5.2.2.tgz", "package/dist/css/bootstrap.min.css")

    # --- Glyphicons (bootstrap 3): the @font-face and .glyphicon rules of bootstrap.css -----
    b3 = s.read("bootstrap-3.4.1.tgz", "package/dist/css/bootstrap.css").decode()
    start = b3.index('@font-face {\n  font-family: "Glyphicons Halflings";')
    end = b3.index("\n* {\n", start)
    part = b3[start:end]
    part = re.sub(r"src: url\(\"\.\./fonts/glyphicons-halflings-regular\.eot\"\);\n\s*src: [^;]*;",
                  glyph_src + ";", part, count=1)
    part = re.sub(r"\s*\n\s*", "", part)  # minify: whitespace around newlines only
    header = b3[: b3.index("*/") + 2]
    out["bootstrap-glyphicons.css"] = (
        (header + "\n" + part + "\n").encode(), "bootstrap-3.4.1.tgz",
        "package/dist/css/bootstrap.css + package/fonts/glyphicons-halflings-regular.woff2",
        "extracted: the Glyphicons @font-face (woff2 as data: URI) and .glyphicon* rules, "
        "whitespace removed (stands in for netdna's bootstrap 3.0.0 bootstrap-glyphicons.css, "
        "which is on no registry)")

    # --- Font Awesome 6.2.0: woff2 as data: URIs, ttf fallbacks and the brands font dropped --
    fa = s.read("fortawesome-fontawesome-free-6.2.0.tgz", "package/css/all.min.css").decode()
    fonts = {n: s.read("fortawesome-fontawesome-free-6.2.0.tgz", f"package/webfonts/{n}.woff2")
             for n in ("fa-regular-400", "fa-solid-900")}
    fa, n = re.subn(r"@font-face\{[^}]*fa-brands-400[^}]*\}", "", fa)
    assert n == 3, n
    # the v5 ("Font Awesome 5 Free") and v4 ("FontAwesome") alias families repeat the same
    # fonts; only custom CSS naming those families uses them, folium's `fa fa-*` classes do not
    fa, n = re.subn(r'@font-face\{font-family:"(?:Font Awesome 5 Free|FontAwesome)";[^}]*\}', "", fa)
    assert n == 5, n
    for name, data in fonts.items():
        old = f'src:url(../webfonts/{name}.woff2) format("woff2"),url(../webfonts/{name}.ttf) format("truetype")'
        assert old in fa, name
        fa = fa.replace(old, f'src:url({data_uri(data, "font/woff2")}) format("woff2")')
    assert "../webfonts" not in fa
    out["fontawesome-all.min.css"] = (
        fa.encode(), "fortawesome-fontawesome-free-6.2.0.tgz",
        "package/css/all.min.css + package/webfonts/{fa-regular-400,fa-solid-900}.woff2",
        "woff2 fonts embedded as data: URIs, ttf fallbacks removed; @font-face rules removed: the "
        "Brands font (brand icons render blank) and the v5/v4 alias families 'Font Awesome 5 "
        "Free'/'FontAwesome' incl. fa-v4compatibility (folium's prefix='fa' icons use the v6 "
        "solid font)")

    # --- Leaflet.awesome-markers 2.0.2 ----------------------------------------------------------
    verbatim("leaflet.awesome-markers.min.js", "drmonty-leaflet-awesome-markers-2.0.2.tgz",
             "package/js/leaflet.awesome-markers.min.js")
    am = s.read("drmonty-leaflet-awesome-markers-2.0.2.tgz",
                "package/css/leaflet.awesome-markers.css").decode()
    am, n = re.subn(r"/\* Retina displays \*/\s*@media[^{]*\{(?:[^{}]*\{[^}]*\})*\s*\}\s*", "", am)
    assert n == 1, n
    for name in ("markers-soft.png", "markers-shadow.png"):
        data = s.read("drmonty-leaflet-awesome-markers-2.0.2.tgz", f"package/css/images/{name}")
        am = replace_once(am, f"url('images/{name}')", f'url("{data_uri(data, "image/png")}")')
    assert "images/" not in am
    out["leaflet.awesome-markers.css"] = (
        am.encode(), "drmonty-leaflet-awesome-markers-2.0.2.tgz",
        "package/css/leaflet.awesome-markers.css + package/css/images/markers-{soft,shadow}.png",
        "sprites embedded as data: URIs; the retina @media block (@2x sprites, 95 kB) removed, "
        "retina screens show the 1x sprite")

    # --- leaflet.awesome.rotate (folium's own file, served from its GitHub repository) -------
    rot = s.read("folium-0.20.0.tar.gz", "folium-0.20.0/folium/templates/leaflet.awesome.rotate.css")
    rot_min = re.sub(rb"\s*\n\s*", b"", rot.strip()) + b"\n"
    out["leaflet.awesome.rotate.min.css"] = (
        rot_min, "folium-0.20.0.tar.gz", "folium-0.20.0/folium/templates/leaflet.awesome.rotate.css",
        "whitespace at line breaks removed")

    # --- write ----------------------------------------------------------------------------------
    for name, (data, *_rest) in out.items():
        (HERE / name).write_bytes(data)
    lic = HERE / "licenses"
    lic.mkdir(exist_ok=True)
    lic_rows = []
    for tarball, (pkg, ver, licence, member) in TARBALLS.items():
        fname = re.sub(r"[^A-Za-z0-9.]+", "-", f"{pkg.split(' ')[0].strip('@')}-{ver}") + ".LICENSE.txt"
        if member:
            (lic / fname).write_bytes(s.read(tarball, member))
        lic_rows.append((tarball, pkg, ver, licence, f"licenses/{fname}" if member else None))

    tar_hashes = {}
    for tarball in TARBALLS:
        raw = (src / tarball).read_bytes()
        tar_hashes[tarball] = (
            "sha512-" + base64.b64encode(hashlib.sha512(raw).digest()).decode(),
            hashlib.sha256(raw).hexdigest())

    lines = [
        "# Vendored front-end files of the offline maps",
        "",
        "Written by `maps/vendor/_build.py` from registry tarballs (npm `npm pack`, PyPI sdist);",
        "`maps/assets.py` inlines them in place of the CDN links folium 0.20.0 emits. Do not edit",
        "the files by hand: change `_build.py` and rebuild. `tests/test_maps_assets.py` checks that",
        "every file listed here has the sha256 given and that the inlined content equals the file.",
        "",
        "## Files",
        "",
        "| file | bytes | sha256 | from (tarball: member) | how |",
        "|---|---:|---|---|---|",
    ]
    for name, (data, tarball, member, how) in sorted(out.items()):
        lines.append(f"| `{name}` | {len(data)} | `{hashlib.sha256(data).hexdigest()}` | "
                     f"`{tarball}`: `{member}` | {how} |")
    lines += [
        "",
        f"Total: {sum(len(v[0]) for v in out.values())} bytes.",
        "",
        "## Packages",
        "",
        "| tarball | package | version | licence | licence text | tarball integrity (sha512, as npm) | tarball sha256 |",
        "|---|---|---|---|---|---|---|",
    ]
    for tarball, pkg, ver, licence, lic_file in lic_rows:
        sha512, sha256 = tar_hashes[tarball]
        lic_cell = f"`{lic_file}`" if lic_file else "see below"
        lines.append(f"| `{tarball}` | {pkg} | {ver} | {licence} | {lic_cell} | `{sha512}` | `{sha256}` |")
    lines += [
        "",
        "Licences without a file in their tarball: `drmonty-leaflet-awesome-markers` declares MIT",
        "(package.json `licenses`, pointing at lvoogdt/Leaflet.awesome-markers' LICENSE, copyright",
        "Lennard Voogdt) — `licenses/leaflet.awesome-markers-2.0.2.NOTICE.txt`; `iso8601-js-period`",
        "is Apache-2.0 by the header kept in `iso8601.js` — the licence text is",
        "`licenses/Apache-2.0.txt`.",
        "",
    ]
    (HERE / "PROVENANCE.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    build(Path(sys.argv[1]))
