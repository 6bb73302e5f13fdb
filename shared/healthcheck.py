"""A container's healthcheck: exit 0 when the service answers ready on its own port.

    python -m shared.healthcheck intake

The port and host come from the service's own settings (its environment), so the image and the compose
file need not repeat them.
"""

from __future__ import annotations

import importlib
import sys
import urllib.error
import urllib.request

from shared.settings import ServiceSettings

__all__ = ["main", "ready_url"]


def ready_url(service: str) -> str:
    """``/readyz`` of ``service`` as its settings place it; a wildcard host is reached on loopback."""
    config = importlib.import_module(f"{service}.config")
    settings_class: type[ServiceSettings] = getattr(config, f"{service.capitalize()}Settings")
    settings = settings_class()
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}/readyz"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m shared.healthcheck SERVICE", file=sys.stderr)
        return 2
    url = ready_url(argv[1])
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return 0 if answer.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"{argv[1]} not ready at {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
