#!/usr/bin/env python3
"""Adds a function's packaged deployment inputs (manifest field `needs`) to its Lambda zip.

Called by scripts/package after cargo-lambda built the zip:

    python3 infra/tools/package_inputs.py --manifest infra/manifest.json --binary BIN --zip dist/lambda/BIN.zip

`trust_anchors`: infra/jpki/jlis-auth-roots.pem goes into the zip as `jlis-auth-roots.pem` (at
the root, so Lambda unpacks it to /var/task/jlis-auth-roots.pem, the MKPF_JPKI_TRUST_ANCHORS the
CDK app sets; the names are in infra/lib/conventions.ts, and a test checks they agree).
`crl_urls` and binaries the manifest does not list need nothing in the zip. An entry of the same
name already in the zip is replaced. Prints one line per file added. Python 3 standard library
only.
"""

import argparse
import json
import os
import sys
import tempfile
import zipfile

INFRA_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# need -> (file in the repository, name inside the zip)
PACKAGED = {
    "trust_anchors": (os.path.join(INFRA_DIR, "jpki", "jlis-auth-roots.pem"), "jlis-auth-roots.pem"),
}

# A fixed timestamp keeps the zip's bytes (and so the CDK asset hash) independent of checkouts.
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def needs_of(manifest, binary):
    for kind in ("routes", "consumers", "jobs"):
        for entry in manifest.get(kind, []):
            if entry.get("binary") == binary:
                return list(entry.get("needs") or [])
    return None


def file_info(name):
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o100644 << 16  # regular file, rw-r--r--
    return info


def add_files(zip_path, files):
    """Adds `files` (name -> bytes) to zip_path, replacing entries of the same name."""
    with zipfile.ZipFile(zip_path) as z:
        present = {i.filename for i in z.infolist()}
    if not present & set(files):
        # Appending leaves the other entries (the bootstrap) byte for byte as they were.
        with zipfile.ZipFile(zip_path, "a", zipfile.ZIP_DEFLATED) as z:
            for name, data in files.items():
                z.writestr(file_info(name), data)
        return
    fd, tmp = tempfile.mkstemp(prefix=".package-inputs-", suffix=".zip", dir=os.path.dirname(os.path.abspath(zip_path)))
    os.close(fd)
    try:
        with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                if info.filename not in files:
                    dst.writestr(info, src.read(info))
            for name, data in files.items():
                dst.writestr(file_info(name), data)
        os.replace(tmp, zip_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--zip", required=True)
    args = ap.parse_args()

    with open(args.manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    needs = needs_of(manifest, args.binary)
    if needs is None:
        print(f"package_inputs: {args.binary} is not in {args.manifest}: nothing to add", file=sys.stderr)
        return 0
    files = {}
    for need in needs:
        if need in PACKAGED:
            source, name = PACKAGED[need]
            try:
                with open(source, "rb") as f:
                    files[name] = f.read()
            except OSError as e:
                print(f"package_inputs: error: {args.binary} needs {need}: {e}", file=sys.stderr)
                return 1
    if files:
        add_files(args.zip, files)
        for name in files:
            print(f"{args.binary}: added {name} ({len(files[name])} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
