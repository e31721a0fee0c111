// The chat demo in real headless Chromium: run by scripts/browser-test, which starts the
// example server and sets CHAT_URL (the page), OUT_DIR (screenshots) and CHROMIUM.
//
// For each transport mode (default: polling then the WebSocket upgrade; `polling` only):
// alice and bob in room "lobby" exchange messages, carol in room "garden" sees nothing of
// the lobby, the room list and its counts follow, and closing bob's tab tells alice "bob
// left". A screenshot of every page is saved at the end.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = process.env.CHAT_URL ?? "http://127.0.0.1:3000/";
const outDir = process.env.OUT_DIR ?? "target/browser-test";
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
// What this machine's Chromium needs: no GPU, no sandbox as root, and none of its
// background connections to the (closed) network.
const flags = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const STEP_TIMEOUT = 10_000;

// The whole run is bounded, whatever hangs.
setTimeout(() => {
  console.error("FAIL: the browser test took more than 150 s");
  process.exit(1);
}, 150_000).unref();

const log = (message) => console.log(`  ${message}`);

async function open(context, nickname, query) {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on("pageerror", (err) => console.error(`  [${nickname}] page error: ${err.message}`));
  await page.goto(new URL(query, base).href);
  await page.fill("#nickname", nickname);
  await page.click("#login button");
  await page.waitForSelector("#status:not(.offline)");
  page.nickname = nickname;
  return page;
}

/** Waits until the page shows `name` as its transport. */
async function transportIs(page, name) {
  await page.waitForFunction((n) => document.getElementById("status").dataset.transport === n, name);
  // And that is what the client really uses.
  const actual = await page.evaluate("socket.io.engine.transport.name");
  if (actual !== name) throw new Error(`${page.nickname}: on ${actual}, shows ${name}`);
}

async function createRoom(page, room) {
  await page.fill("#room-name", room);
  await page.click("#room-form button");
  await page.waitForFunction((r) => document.getElementById("room-title").textContent === `# ${r}`, room);
}

async function clickRoom(page, room) {
  await page.click(`#rooms li[data-room="${room}"] button`);
  await page.waitForFunction((r) => document.getElementById("room-title").textContent === `# ${r}`, room);
}

/** Waits until the page's room list is exactly `rooms` ({name: count}). */
async function roomsAre(page, rooms) {
  try {
    await page.waitForFunction((expected) => {
      const shown = {};
      for (const li of document.querySelectorAll("#rooms li[data-room]")) {
        shown[li.dataset.room] = Number(li.querySelector(".count").textContent);
      }
      return JSON.stringify(shown) === JSON.stringify(expected);
    }, rooms);
  } catch (e) {
    const shown = await page.locator("#rooms").innerText();
    throw new Error(`${page.nickname}: rooms should be ${JSON.stringify(rooms)}, shows ${JSON.stringify(shown)}`);
  }
}

async function send(page, text) {
  await page.fill("#message", text);
  await page.press("#message", "Enter");
  // The server's acknowledgement marks it delivered.
  await page.waitForFunction(
    (t) => [...document.querySelectorAll("#messages li.delivered .text")].some((e) => e.textContent === t),
    text,
  );
}

async function sees(page, text) {
  try {
    await page.waitForFunction((t) => document.getElementById("messages").innerText.includes(t), text);
  } catch (e) {
    const shown = await page.locator("#messages").innerText();
    throw new Error(`${page.nickname} should see ${JSON.stringify(text)}; the room shows ${JSON.stringify(shown)}`);
  }
}

async function doesNotSee(page, ...texts) {
  const shown = await page.locator("#messages").innerText();
  for (const text of texts) {
    if (shown.includes(text)) throw new Error(`${page.nickname} must not see ${JSON.stringify(text)}: ${JSON.stringify(shown)}`);
  }
}

async function run(mode) {
  const query = mode === "polling" ? "/?transport=polling" : "/";
  const transport = mode === "polling" ? "polling" : "websocket";
  const userDataDir = mkdtempSync(join(tmpdir(), "chat-browser-test-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: flags,
    viewport: { width: 960, height: 640 },
    timeout: 30_000,
  });
  const shots = [];
  const shoot = async (page, n) => {
    const path = join(outDir, `${mode}-${n}-${page.nickname}.png`);
    await page.screenshot({ path });
    shots.push(path);
  };
  try {
    log(`[${mode}] alice creates "lobby", bob joins it from the room list`);
    const alice = await open(context, "alice", query);
    await transportIs(alice, transport);
    await createRoom(alice, "lobby");
    await roomsAre(alice, { lobby: 1 });
    const bob = await open(context, "bob", query);
    await transportIs(bob, transport);
    await roomsAre(bob, { lobby: 1 });
    await clickRoom(bob, "lobby");
    await sees(alice, "bob joined");
    await roomsAre(alice, { lobby: 2 });
    await roomsAre(bob, { lobby: 2 });

    log(`[${mode}] messages both ways, each acknowledged by the server`);
    await send(alice, "hello from alice");
    await sees(bob, "hello from alice");
    await send(bob, "hi alice, bob here");
    await sees(alice, "hi alice, bob here");

    log(`[${mode}] carol in "garden" sees nothing of the lobby, and the lobby nothing of her`);
    const carol = await open(context, "carol", query);
    await transportIs(carol, transport);
    await roomsAre(carol, { lobby: 2 });
    await createRoom(carol, "garden");
    for (const page of [alice, bob, carol]) await roomsAre(page, { garden: 1, lobby: 2 });
    await send(carol, "only the garden hears this");
    await send(alice, "carol cannot read this");
    await sees(bob, "carol cannot read this");
    await doesNotSee(carol, "alice", "bob", "hello from alice", "carol cannot read this");
    await doesNotSee(alice, "only the garden hears this", "carol joined");
    await doesNotSee(bob, "only the garden hears this", "carol joined");

    log(`[${mode}] bob closes his tab: alice gets "bob left", the counts follow`);
    await shoot(bob, 2);
    await bob.close();
    await sees(alice, "bob left");
    for (const page of [alice, carol]) await roomsAre(page, { garden: 1, lobby: 1 });
    await doesNotSee(carol, "bob left");
    await transportIs(alice, transport);

    await shoot(alice, 1);
    await shoot(carol, 3);
    log(`[${mode}] ok; screenshots: ${shots.join(", ")}`);
  } finally {
    await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

mkdirSync(outDir, { recursive: true });
let failed = false;
for (const mode of ["default", "polling"]) {
  try {
    await run(mode);
  } catch (e) {
    failed = true;
    console.error(`FAIL [${mode}]: ${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
