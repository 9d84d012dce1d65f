"""The real-service fixtures work: a database per test, and Chromium renders a page."""

from __future__ import annotations

import http.server
import threading

import psycopg
import pytest

from tests.fixtures.browser import screenshot


@pytest.mark.postgres
def test_each_test_gets_its_own_empty_postgres_database(pg_url: str) -> None:
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE probe (n int)")
        conn.execute("INSERT INTO probe VALUES (42)")
        assert conn.execute("SELECT n FROM probe").fetchone() == (42,)
        assert conn.execute("SELECT current_database()").fetchone()[0].startswith("muster_t_")


@pytest.mark.browser
def test_chromium_renders_a_local_page(page) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = "<html><head><title>采集点</title></head><body><h1>你好</h1></body></html>"
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        assert page.title() == "采集点"
        assert page.locator("h1").inner_text() == "你好"
        assert screenshot(page, "fixture-smoke").stat().st_size > 1000
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
