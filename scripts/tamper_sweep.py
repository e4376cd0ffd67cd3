"""Flip one bit in every byte of a bundle, one variant at a time, and check that `verify` catches each.

    .venv/bin/python scripts/tamper_sweep.py BUNDLE.zip [--key PUB] [--stride N] [--jobs N]

A variant is caught when verification raises an input error (no readable bundle any more) or reports a
failed check. Prints the number of variants tried and caught, and every offset that went unnoticed;
exits 1 when any did. The test suite checks a spread of offsets (tests/test_bundle_verify.py); this
sweep is the exhaustive version, for a bundle of your own or after changing the bundle format.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from verifier.bundle import verify_bundle
from verifier.errors import InputError
from verifier.signing import load_public_key

_DATA = b""
_KEY = None


def _init(data: bytes, key_path: str | None) -> None:
    global _DATA, _KEY
    _DATA = data
    _KEY = load_public_key(Path(key_path)) if key_path else None


def _uncaught(offsets: range) -> list[int]:
    """Offsets among ``offsets`` whose one-bit change verification does not catch."""
    missed = []
    with tempfile.TemporaryDirectory(prefix="tamper-") as tmp:
        target = Path(tmp) / "variant.zip"
        for offset in offsets:
            changed = bytearray(_DATA)
            changed[offset] ^= 0x01
            target.write_bytes(bytes(changed))
            try:
                checks = verify_bundle(target, public_key=_KEY)
            except InputError:
                continue
            if not any(c.ok is False for c in checks):
                missed.append(offset)
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--key", help="the signer's public key (checks the signature too)")
    parser.add_argument("--stride", type=int, default=1, help="try every Nth byte (default 1: all)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    data = args.bundle.read_bytes()
    _init(data, args.key)
    if any(c.ok is False for c in verify_bundle(args.bundle, public_key=_KEY)):
        print(f"{args.bundle}: does not verify as it is; nothing to sweep", file=sys.stderr)
        return 2
    offsets = range(0, len(data), max(1, args.stride))
    chunk = max(1, len(offsets) // (args.jobs * 8))
    parts = [offsets[i:i + chunk] for i in range(0, len(offsets), chunk)]
    began = time.monotonic()
    with ProcessPoolExecutor(args.jobs, initializer=_init, initargs=(data, args.key)) as pool:
        missed = sorted(o for found in pool.map(_uncaught, parts) for o in found)
    print(f"{args.bundle}: {len(data)} bytes, {len(offsets)} one-bit variants tried, "
          f"{len(offsets) - len(missed)} caught, {len(missed)} unnoticed "
          f"({time.monotonic() - began:.0f} s)")
    for offset in missed:
        print(f"  unnoticed: offset {offset}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
