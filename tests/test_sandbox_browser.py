"""The whole journey in a real browser (Debian's Chromium through playwright), by clicking the web chat: /start →
language → accept → paper account → GRID with defaults → risk card → Start → a fill message arrives → /status →
Stop → summary; then the admin broadcasts and the first user's open page shows it. Screenshots of each step go to
TB_SCREENSHOTS (default: the test's tmp folder / "screens"; the path is printed).

The app under test is the real sandbox, `python -m bot` with no BOT_TOKEN (bot/sandbox/run.py) as `make run` starts
it, on its own SQLite file and the candles the project ships (what a newcomer sees); the page's speed buttons pause the replay, then take it
to 600×."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from playwright.async_api import Page, async_playwright, expect

CHROMIUM = "/usr/bin/chromium"
ALEX = 1002
BROADCAST = "Sandbox maintenance at 18:00 UTC"
KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")


class Shots:
    def __init__(self, folder: Path):
        self.folder, self.n = folder, 0
        folder.mkdir(parents=True, exist_ok=True)

    async def __call__(self, page: Page, name: str) -> None:
        self.n += 1
        await page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def sandbox_process(folder: Path):
    """`python -m bot` without a token, as `make run` starts it, in `folder`; yields the page's base URL."""
    port = free_port()
    env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    env |= {"DATABASE_URL": f"sqlite://{folder / 'sandbox.sqlite3'}", "SANDBOX_PORT": str(port), "HEALTH_PORT": "0",
            "PYTHONUNBUFFERED": "1"}
    folder.mkdir(parents=True, exist_ok=True)
    log = (folder / "sandbox.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        async with aiohttp.ClientSession() as http:
            while True:
                assert proc.poll() is None, (folder / "sandbox.log").read_text()[-3000:]
                assert time.monotonic() - t0 < 60, "the sandbox did not answer within 60 s"
                with contextlib.suppress(aiohttp.ClientError):  # up once the bot has set its command menu
                    async with http.get(base + "/api/menu", params={"lang": "en"}) as r:
                        if r.status == 200 and (await r.json())["commands"]:
                            break
                await asyncio.sleep(0.2)
        print(f"sandbox process up in {time.monotonic() - t0:.1f} s: {base} (log: {folder / 'sandbox.log'})")
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def msg(page: Page, text: str):
    return page.locator("#messages .msg", has_text=text).last


async def press(page: Page, label: str) -> None:
    await page.locator("#messages .kb", has_text=label).last.click()


async def say(page: Page, text: str) -> None:
    await page.fill("#input", text)
    await page.press("#input", "Enter")


async def test_the_journey_by_clicking_in_chromium(tmp_path):
    shots = Shots(Path(os.environ.get("TB_SCREENSHOTS") or tmp_path / "screens"))
    print(f"\nscreenshots: {shots.folder}")
    async with sandbox_process(tmp_path / "sandbox") as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        ctx = await browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
        page = await ctx.new_page()
        await page.goto(f"{base}/?user={ALEX}&lang=en")
        await expect(page.locator("#users .user.current")).to_have_text("Alex")
        await expect(page.locator("#empty")).to_be_visible()
        await shots(page, "empty-chat")

        # the command menu, then /start from it
        await page.click("#menu-button")
        await expect(page.locator("#commands")).to_contain_text("/status")
        await shots(page, "command-menu")
        await page.locator("#commands button", has_text="/start").click()
        await expect(msg(page, "language")).to_be_visible()
        await press(page, "English")
        await expect(msg(page, "risk")).to_be_visible()
        await shots(page, "risk-notice")
        await press(page, "I understand")
        await expect(msg(page, "Main menu")).to_be_visible()
        assert await page.locator("#messages .msg").count() == 2  # the answers edited one message in place
        await shots(page, "main-menu")

        await press(page, "GRID")
        await press(page, "New bot")
        await press(page, "New paper account (perpetual)")
        await expect(msg(page, "10,000 USDT")).to_be_visible()
        await press(page, "BTC/USDT perpetual")
        await expect(msg(page, "Quick setup")).to_be_visible()
        await shots(page, "quick-setup")
        await press(page, "Preview & start")
        await expect(msg(page, "Before you start")).to_be_visible(timeout=60_000)
        await shots(page, "risk-card")
        await press(page, "▶️ Start")
        await expect(msg(page, "State: running")).to_be_visible(timeout=20_000)
        await expect(page.locator(".toast", has_text="Started")).to_be_visible()  # the press's answer, as a toast
        await shots(page, "running")

        # the replay clock: paused, the market time stands still; then 600×
        await page.locator("#speeds .speed[data-speed='0']").click()
        await expect(page.locator("#market-time")).to_contain_text("paused")
        paused = await page.inner_text("#market-time")
        await asyncio.sleep(1.5)
        assert await page.inner_text("#market-time") == paused
        await page.locator("#speeds .speed", has_text="600×").click()
        await expect(page.locator("#speeds .speed.current")).to_have_text("600×")
        await expect(page.locator("#market-time")).not_to_have_text(paused)

        t0 = time.monotonic()
        await expect(msg(page, "Order filled")).to_be_visible(timeout=120_000)
        print(f"first fill on the page {time.monotonic() - t0:.1f} s after Start")
        await shots(page, "fill")

        await say(page, "/status")
        await expect(msg(page, "Your bots")).to_be_visible()
        await shots(page, "status")
        await press(page, "Stop")
        await press(page, "close the position")
        await expect(msg(page, "Bot stopped")).to_be_visible(timeout=60_000)
        await expect(msg(page, "Bot stopped")).to_contain_text("This run:")
        await msg(page, "Bot stopped").scroll_into_view_if_needed()
        await shots(page, "stopped-summary")

        # a second tab stays on Alex's chat while the first becomes the admin and broadcasts
        watcher = await ctx.new_page()
        await watcher.goto(f"{base}/?user={ALEX}&lang=en")
        await expect(msg(watcher, "Bot stopped")).to_be_visible()
        await page.locator("#users .user", has_text="Mina").click()
        await page.click("#lang")  # the page in Korean
        await expect(page.locator("#send")).to_have_text("보내기")
        await say(page, "/start")
        await press(page, "한국어")
        await press(page, "이해했으며")
        await expect(msg(page, "메인 메뉴")).to_be_visible()
        await say(page, "/broadcast")
        await expect(msg(page, "📣")).to_be_visible()
        await say(page, BROADCAST)
        await expect(msg(page, "명에게 보낼까요")).to_be_visible()
        await shots(page, "broadcast-preview")
        await press(page, "보내기")
        await expect(msg(page, "공지 완료")).to_be_visible(timeout=20_000)
        await expect(page.locator("#users .user", has_text="Alex").locator(".badge")).to_be_visible()
        await shots(page, "broadcast-sent")

        await expect(msg(watcher, BROADCAST)).to_be_visible()  # arrived live, no reload
        assert not await msg(watcher, BROADCAST).evaluate("e => e.classList.contains('out')")
        await shots(watcher, "broadcast-received")
        await watcher.set_viewport_size({"width": 390, "height": 800})  # a phone
        await shots(watcher, "phone")
        await page.locator("#users .user", has_text="Alex").click()
        await expect(msg(page, BROADCAST)).to_be_visible()
        await browser.close()
