"""Publishes the sample OKR set and submits the product brief's stories to a running stack.

    make up && make demo

Prints, for each story, where the request stands and what its requester was told.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from scripts.demo_history import import_history

ROOT = Path(__file__).resolve().parent.parent


def quarter(today: date) -> str:
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def friday_of_next_week(today: date) -> date:
    return today + timedelta(days=7 - today.weekday() + 4)


def wait_told(client: httpx.Client, notifier: str, request_id: str, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items: list[dict[str, Any]] = client.get(f"{notifier}/v1/notifications",
                                                 params={"request_id": request_id}).json()["items"]
        if items:
            return items
        time.sleep(0.2)
    return []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--key", default=None, help="API key (default: .run/dev-api-key from make up)")
    args = parser.parse_args()
    key = args.key or (ROOT / ".run/dev-api-key").read_text().strip()
    auth = {"Authorization": f"Bearer {key}"}
    intake, classifier, capacity, notifier = (f"http://{args.host}:{p}" for p in (8001, 8002, 8003, 8004))

    with httpx.Client(timeout=10, headers=auth) as client:
        okrs = json.loads((ROOT / "data/okrs-2026-Q4.json").read_text())
        current = quarter(date.today())
        okrs["quarter"] = current
        published = client.put(f"{classifier}/v1/okrs/{current}", json=okrs, headers=auth)
        published.raise_for_status()
        print(f"Published {len(okrs['objectives'])} objectives for {current} "
              f"(version {published.json()['version']}):")
        for objective in published.json()["objectives"]:
            print(f"  {objective['id']}  {objective['title']}")

        past = import_history(client, capacity)
        print(f"Imported {past} finished requests of three past quarters into the flow history "
              "(forecasts sample each lane's own pace).")

        for story in json.loads((ROOT / "data/stories.json").read_text()):
            label = story.pop("story")
            if story.pop("due_next_cycle", False):
                story["due_date"] = friday_of_next_week(date.today()).isoformat()
            answer = client.post(f"{intake}/v1/requests", json=story,
                                 headers={**auth, "Idempotency-Key": f"demo-{current}-{label[:2]}"})
            if answer.status_code != 202:
                print(f"\n{label}: refused {answer.status_code} {answer.text}")
                continue
            request_id = answer.json()["id"]
            told = wait_told(client, notifier, request_id)
            found = client.get(f"{intake}/v1/requests/{request_id}").json()
            print(f"\n{label}\n  request {request_id}: {found['status']}, lane {found['lane']}")
            for entry in found["timeline"]:
                print(f"    {entry['type']:<22} {entry['summary']}")
            for message in told[-1:]:
                print(f"  told {message['recipient']}:\n    {message['text']}")

        board = client.get(f"{capacity}/v1/board").json()
        print(f"\nCommitted in cycle {board['cycle']}:")
        for item in board["columns"]["committed"]:
            print(f"       [{item['colour']:<6}] {item['title']:<62} {item['objective_id'] or '-':<3} "
                  f"{item['points']} pts")
        print("Backlog, in order:")
        for item in client.get(f"{capacity}/v1/backlog").json()["items"]:
            print(f"  {item['position']:>3}. [{item['colour']:<6}] {item['title']:<62} "
                  f"{item['objective_id'] or '-':<3} starts {item['expected_start_cycle']}")
        numbers = client.get(f"{capacity}/v1/capacity").json()
        shares = ", ".join(f"{lane} {v['share']:.0%}" for lane, v in numbers["lanes"].items() if v["share"])
        print(f"\nThis cycle: {numbers['committed_points']} of {numbers['capacity_points']} points committed "
              f"({shares}); customer share {numbers['customer_share']:.0%} against a reserve of "
              f"{numbers['customer_reserve']:.0%}.")
        print_flow(client, capacity)
        for overlap in client.get(f"{capacity}/v1/dashboard").json()["overlaps"]:
            first, second = overlap["requests"]  # ops sees both sides
            print(f"Overlap ({overlap['kind']}, {overlap['score']:.0%}): {first['team']} \"{first['title']}\" and "
                  f"{second['team']} \"{second['title']}\". To do it once, merge one into the other:\n"
                  f"  POST {intake}/v1/requests/{second['request_id']}/merge {{\"into\": \"{first['request_id']}\"}}")
        for tradeoff in numbers["open_tradeoffs"]:
            print(f"Open trade-off {tradeoff['tradeoff_id']} for {tradeoff['request_id']}: pause one of "
                  f"{', '.join(tradeoff['candidates']) or '(nothing committed)'}, or defer, on its page:\n"
                  f"  {capacity}/pages/tradeoffs?id={tradeoff['tradeoff_id']}")
    print_pages(intake, classifier, capacity)
    return 0


def print_flow(client: httpx.Client, capacity: str) -> None:
    """Each lane's SLE, the backlog's start ranges, and how well such forecasts came true before."""
    flow = client.get(f"{capacity}/v1/flow").json()
    print("\nFlow: " + " ".join(lane["sle"]["statement"] for lane in flow["lanes"] if lane["sle"]))
    print("Start forecasts (most likely · 85% · 95%):")
    for item in client.get(f"{capacity}/v1/backlog").json()["items"]:
        start = client.get(f"{capacity}/v1/forecast/{item['request_id']}").json().get("start") or {}
        print(f"  {item['position']:>3}. {item['title']:<62} {start.get('p50', '-')} · {start.get('p85', '-')} · "
              f"{start.get('p95', '-')}")
    overall = client.get(f"{capacity}/v1/forecast/calibration").json()["overall"]
    if overall["started_by"]["p85"] is not None:
        print(f"Back-test: {overall['judged']} past forecasts; started by their 85% date "
              f"{overall['started_by']['p85']:.0%}, by their 50% date {overall['started_by']['p50']:.0%}.")


def print_pages(intake: str, classifier: str, capacity: str) -> None:
    """Where people look and act: the pages, each with who may use it."""
    print("\nPages (open them in a browser; a page that asks for a key takes .run/dev-api-key):")
    for name, url, who in (
            ("dashboard", f"{capacity}/dashboard", "the board, live; any key"),
            ("trade-offs", f"{capacity}/pages/tradeoffs", "the heat-shield manager decides; ops reads"),
            ("policy", f"{capacity}/pages/policy", "ops"),
            ("OKRs", f"{classifier}/pages/okrs", "ops publishes; everyone reads"),
            ("request form", f"{intake}/pages/request", "anyone: it posts with the form's own key"),
            ("my requests", f"{intake}/pages/mine", "a requester tool's key, or the link in each notice")):
        print(f"  {name:<13} {url:<44} {who}")


if __name__ == "__main__":
    sys.exit(main())
