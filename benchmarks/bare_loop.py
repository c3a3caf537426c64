"""The floor: a bare httpx.AsyncClient loop sending the importer's createAndAssociate requests.

It sends exactly what the importer would send for the same sheet (the bodies come from a
JSON file that benchmarks/run.py wrote with the importer's own schema check, so reading and
checking the sheet is not part of the floor), signed afresh per request with
importer.signing, with the same concurrency and connection limits, and does nothing
else: no journal, no retries, no classification beyond counting HTTP status codes.

    python benchmarks/bare_loop.py --base-url URL --bodies bodies.json --concurrency 16 [--rate 20]

Credentials come from LTI_KEY / LTI_SECRET. Prints one JSON object (counts and elapsed
seconds inside the loop) on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections import Counter

import httpx

from importer.signing import signed_query

CREATE_PATH = "/meeting/createAndAssociate"


async def send_all(base_url: str, key: str, secret: str, bodies: list[dict], concurrency: int,
                   rate: float, timeout: float) -> dict[str, object]:
    url = base_url.rstrip("/") + CREATE_PATH
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    rows = iter(bodies)  # shared by the workers: one event loop, so no lock is needed
    started = time.perf_counter()
    next_slot = [started]  # --rate: one request every 1/rate seconds, no burst

    async def pace() -> None:
        slot = next_slot[0]
        next_slot[0] = max(slot, time.perf_counter()) + 1.0 / rate
        delay = slot - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)

    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout), limits=limits,
                                 follow_redirects=False) as client:

        async def worker() -> None:
            for body in rows:
                if rate > 0:
                    await pace()
                timestamp = str(int(time.time() * 1000))
                params, signature = signed_query(key, secret, None, timestamp)
                content = json.dumps(body, ensure_ascii=False).encode("utf-8")
                try:
                    response = await client.post(
                        url, params=params, content=content,
                        headers={"X-Lti-Signature": signature, "Content-Type": "application/json"})
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                statuses[response.status_code] += 1

        await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(bodies))))))
    return {"rows": len(bodies), "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "errors": dict(errors), "loop_s": round(time.perf_counter() - started, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--bodies", required=True, help="JSON array of createAndAssociate bodies")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=0.0, help="requests per second (0 = unlimited)")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    with open(args.bodies, encoding="utf-8") as handle:
        bodies = json.load(handle)
    result = asyncio.run(send_all(args.base_url, os.environ["LTI_KEY"], os.environ["LTI_SECRET"], bodies,
                                  args.concurrency, args.rate, args.timeout))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
