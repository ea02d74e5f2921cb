#!/usr/bin/env python3
"""What encryption at rest costs per item, in microseconds, away from any database.

    python bench/sealing.py            # 200,000 items of the bulk bench's shape
    python bench/sealing.py --items 50000

Times, per item: the canonical JSON + SHA-256 an import did before sealing; the same + keyed hash
+ AES-256-GCM seal it does now (services/items._canonical); opening a sealed item (what ``next``,
reviews and exports add); sealing and opening a 100 kB file. Best of 3 rounds, so a busy machine
inflates the figures less.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson  # noqa: E402

from labelhouse.security.keyring import Keyring  # noqa: E402
from labelhouse.security.keys import LocalKeyProvider, new_master_key  # noqa: E402
from labelhouse.security.sealing import Vault  # noqa: E402


def _best(fn, rounds: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--items", type=int, default=200_000)
    args = p.parse_args()
    n = args.items
    items = [
        {"text": f"review number {i}: the product arrived on time and works as described " * 2, "id": i}
        for i in range(n)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        master = LocalKeyProvider(new_master_key())
        vault = Vault(Keyring(Path(tmp) / "keyring.json", lambda: master))
        vault.ensure_key(1)

        def plain() -> None:
            for data in items:
                encoded = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
                hashlib.sha256(encoded).hexdigest()[:32]

        sealed: list[tuple[str, str]] = []

        def seal() -> None:
            sealed.clear()
            for data in items:
                encoded = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
                digest = vault.content_hash(1, encoded)
                sealed.append((digest, vault.seal_item(1, 7, digest, encoded)))

        def open_all() -> None:
            for digest, stored in sealed:
                vault.open_item(1, 7, digest, stored)

        def load_plain() -> None:
            for data in items:
                orjson.loads(orjson.dumps(data))

        t_plain, t_seal = _best(plain), _best(seal)
        t_open, t_load = _best(open_all), _best(load_plain)
        blob = bytes(range(256)) * 400
        name = vault.blob_name(1, blob)
        t_blob = _best(lambda: [vault.seal_blob(1, name, blob) for _ in range(200)]) / 200
        stored = vault.seal_blob(1, name, blob)
        t_blob_open = _best(lambda: [vault.open_blob(1, name, stored) for _ in range(200)]) / 200
    us = 1e6 / n
    print(f"items: {n}, stored size {len(sealed[0][1])} B sealed vs {len(orjson.dumps(items[0]))} B plain")
    print(
        f"import, per item: before {t_plain * us:.2f} us, now (keyed hash + seal) {t_seal * us:.2f} us, "
        f"added {(t_seal - t_plain) * us:.2f} us"
    )
    print(f"read, per item: parse plain JSON {t_load * us:.2f} us, open sealed {t_open * us:.2f} us")
    print(f"100 kB file: seal {t_blob * 1e6:.0f} us, open {t_blob_open * 1e6:.0f} us")
    print(f"1,000,000 items: sealing adds {(t_seal - t_plain) * us:.2f} s of read-ahead thread time")


if __name__ == "__main__":
    main()
