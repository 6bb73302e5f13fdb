"""The pages' router: only the files named are served, each with the pages' security headers."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.pages import pages_router
from shared.problems import install_problem_handlers
from tests.infra import ROOT


def client() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(pages_router("capacity", {"board": "policy.html"}, connect=("http://127.0.0.1:8002",)))
    return TestClient(app)


def test_a_page_and_its_assets_are_served_with_a_strict_policy() -> None:
    http = client()
    page = http.get("/pages/board")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self' http://127.0.0.1:8002" in policy
    assert "'unsafe-inline'" not in policy
    shared = http.get("/pages/assets/pages.js")
    assert shared.status_code == 200 and "const Pages" in shared.text
    assert shared.headers["content-type"].startswith("text/javascript")
    own = http.get("/pages/assets/ops-pages.css")
    assert own.status_code == 200 and own.headers["content-type"].startswith("text/css")


def test_every_page_names_the_icon_and_the_icon_is_served_for_a_browser_that_asks_without_a_page() -> None:
    pages = sorted((ROOT / "services").glob("*/*/**/static/*.html"))
    assert len(pages) >= 6
    for page in pages:
        assert '<link rel="icon" href="/pages/assets/icon.svg"' in page.read_text(encoding="utf-8"), page
    http = client()
    for path in ("/pages/assets/icon.svg", "/favicon.ico"):
        icon = http.get(path)
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml"), path
        assert icon.text.startswith("<svg")


def test_unknown_pages_and_assets_are_404_problems() -> None:
    http = client()
    for path in ("/pages/nothing", "/pages/assets/policy.html", "/pages/assets/..%2Fapi.py"):
        answer = http.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"
