"""A real headless Chromium, driven over the DevTools protocol, for testing the web app as a
planner uses it: read the page, type, click, download, take a screenshot.

Uses Debian's ``chromium`` (``.ci/run`` installs it on CI; tests skip with that reason where it
is missing) with the flags that work on this project's machines: headless, no sandbox (root),
no GPU, and no background networking (the machines have no network beyond the package
registries, and Chromium's own connections would be refused).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--window-size=1280,1000",
)


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("chromium not found: apt-get install chromium (.ci/run does on CI)")


class Browser:
    """One page of a headless Chromium: ``with Browser() as b: b.go(url); b.text()``."""

    def __init__(self, width: int = 1280, height: int = 1000):
        self.size = (width, height)

    def __enter__(self) -> Browser:
        from websockets.sync.client import connect

        self.profile = Path(tempfile.mkdtemp(prefix="chromium-"))
        self.process = subprocess.Popen(
            [chromium(), *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.__exit__(None, None, None)
                raise RuntimeError("chromium did not start")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=10) as r:
            page = next(t for t in json.load(r) if t["type"] == "page")
        self.socket = connect(page["webSocketDebuggerUrl"], max_size=64_000_000).__enter__()
        self.calls = 0
        self.call("Page.enable")
        w, h = self.size
        metrics = {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": False}
        self.call("Emulation.setDeviceMetricsOverride", **metrics)
        return self

    def __exit__(self, *exc) -> None:
        sock = getattr(self, "socket", None)
        if sock is not None:
            sock.__exit__(None, None, None)
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method: str, **params):
        self.calls += 1
        self.socket.send(json.dumps({"id": self.calls, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=60))
            if message.get("id") == self.calls:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def go(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def text(self) -> str:
        return self.js("document.body ? document.body.innerText : ''") or ""

    def wait_for(self, *texts: str, timeout: float = 60.0) -> str:
        """Wait until the page shows every one of ``texts``; returns the page's text."""
        deadline = time.monotonic() + timeout
        while True:
            page = self.text()
            if all(t in page for t in texts):
                return page
            if time.monotonic() > deadline:
                raise AssertionError(f"page never showed {texts}; it shows:\n{page[-3000:]}")
            time.sleep(0.5)

    def click_text(self, selector: str, text: str, timeout: float = 60.0) -> None:
        """Click the first element matching ``selector`` whose text is ``text``, waiting for
        it to appear (Streamlit draws a page in steps)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._click(selector, text)
            if found is True or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert found is True, f"no {selector} reading {text!r}; there are {found}"

    def _click(self, selector: str, text: str):
        return self.js(
            f"""(() => {{
                const all = [...document.querySelectorAll({json.dumps(selector)})];
                const el = all.find(e => e.innerText.trim() === {json.dumps(text)});
                if (!el) return all.map(e => e.innerText.trim());
                el.scrollIntoView(); el.click(); return true;
            }})()"""
        )

    def mouse_click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def press(self, key: str, code: int) -> None:
        for kind in ("keyDown", "keyUp"):
            self.call(
                "Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=code
            )

    def choose(self, label: str, typed: str) -> None:
        """Pick from a Streamlit select box or multiselect by its label, as a user does:
        click into it, type, press Enter."""
        box = self.js(
            f"""(() => {{
                const labels = [...document.querySelectorAll('label')];
                const lab = labels.find(l => l.innerText.trim() === {json.dumps(label)});
                if (!lab) return null;
                const input = lab.closest('[data-testid]').parentElement.querySelector('input');
                input.scrollIntoView({{block: 'center'}});
                const r = input.getBoundingClientRect();
                return [r.left + r.width / 2, r.top + r.height / 2];
            }})()"""
        )
        assert box, f"no select box labelled {label!r}"
        self.mouse_click(*box)
        time.sleep(0.3)
        self.call("Input.insertText", text=typed)
        time.sleep(0.5)
        self.press("Enter", 13)
        time.sleep(0.3)
        self.press("Escape", 27)
        self.js("document.activeElement && document.activeElement.blur()")  # close the list
        time.sleep(0.5)

    def allow_downloads(self, folder: Path) -> None:
        self.call("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(folder))

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path
