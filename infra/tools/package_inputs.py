#!/usr/bin/env python3
"""Adds the packaged deployment inputs (manifest field `needs`) to the functions' Lambda zip.

Called by scripts/package after cargo-lambda built the one zip every route, consumer and job runs
(each its own Lambda function, all from this code; the Handler picks the entry):

    python3 infra/tools/package_inputs.py --manifest infra/manifest.json --zip dist/lambda/mkpf-function.zip

The zip gets the union of what the manifest's functions need packaged:
`trust_anchors`: infra/jpki/jlis-auth-roots.pem goes into the zip as `jlis-auth-roots.pem` (at
the root, so Lambda unpacks it to /var/task/jlis-auth-roots.pem, the MKPF_JPKI_TRUST_ANCHORS the
CDK app sets on the functions that need it; the names are in infra/lib/conventions.ts, and a test
checks they agree). `crl_urls` and the other needs are not files: nothing goes into the zip for
them. An entry of the same name already in the zip is replaced. Prints one line per file added.
Python 3 standard library only.
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


def needing(manifest):
    """need -> ids of the functions (routes, consumers, jobs) that need it, in manifest order."""
    out = {}
    for kind in ("routes", "consumers", "jobs"):
        for entry in manifest.get(kind, []):
            for need in entry.get("needs") or []:
                out.setdefault(need, []).append(entry.get("function") or entry.get("name") or "?")
    return out


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
    ap.add_argument("--zip", required=True)
    args = ap.parse_args()

    with open(args.manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    files = {}
    users = {}
    for need, ids in needing(manifest).items():
        if need in PACKAGED:
            source, name = PACKAGED[need]
            try:
                with open(source, "rb") as f:
                    files[name] = f.read()
            except OSError as e:
                print(f"package_inputs: error: {', '.join(ids)} need {need}: {e}", file=sys.stderr)
                return 1
            users[name] = ids
    if files:
        add_files(args.zip, files)
        zip_name = os.path.basename(args.zip)
        for name in files:
            ids = users[name]
            noun = "function" if len(ids) == 1 else "functions"
            print(f"{zip_name}: added {name} ({len(files[name])} bytes; for {len(ids)} {noun}: {', '.join(ids)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
