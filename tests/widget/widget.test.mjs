// Drives Rocket.Chat's official livechat widget (npm @rocket.chat/livechat), served by
// livechat-server at /livechat, in headless Chromium: a visitor registers and writes, an
// agent replies over REST, and the reply must appear in the open widget without a reload,
// pushed over the realtime API. Screenshots are kept under target/widget/.
//
//   node tests/widget/widget.test.mjs    (after `cargo build` and `npm ci` in tests/widget)
//
// LIVECHAT_SERVER_BIN names the server binary (default target/debug/livechat-server);
// CHROMIUM the browser (default /usr/bin/chromium, Debian's package).

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repository = resolve(here, '../..');
const serverBin = process.env.LIVECHAT_SERVER_BIN ?? join(repository, 'target/debug/livechat-server');
const browserBin = process.env.CHROMIUM ?? '/usr/bin/chromium';
const shots = join(repository, 'target/widget');
const widgetBuild = join(here, 'node_modules/@rocket.chat/livechat/build');
const REPLY = 'Hi Marcos, how can I help?';

function freePort() {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

function check(condition, what) {
  if (!condition) throw new Error(what);
}

async function startServer() {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'livechat-widget-'));
  const log = [];
  const server = spawn(serverBin, [], {
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${join(data, 'livechat.db')}`,
      LIVECHAT_LISTEN: `127.0.0.1:${port}`,
      LIVECHAT_ADMIN_PASSWORD: 'widget-admin-password',
      LIVECHAT_WIDGET_DIR: widgetBuild,
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [server.stdout, server.stderr]) stream.on('data', (chunk) => log.push(String(chunk)));
  const base = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      if ((await fetch(`${base}/health`)).ok) return { base, server, log, data };
    } catch {
      // not listening yet
    }
    await new Promise((wait) => setTimeout(wait, 100));
  }
  server.kill();
  throw new Error(`the server did not start:\n${log.join('')}`);
}

/** A REST call that must answer 200; returns the body. */
async function api(base, method, path, body, login) {
  const headers = { 'content-type': 'application/json' };
  if (login) Object.assign(headers, { 'X-User-Id': login.userId, 'X-Auth-Token': login.authToken });
  const response = await fetch(base + path, { method, headers, body: body && JSON.stringify(body) });
  const answer = await response.json();
  check(response.status === 200, `${method} ${path} answered ${response.status}: ${JSON.stringify(answer)}`);
  return answer;
}

async function availableAgent(base) {
  const admin = (await api(base, 'POST', '/api/v1/login', { user: 'admin', password: 'widget-admin-password' })).data;
  const agent = { name: 'Agent Smith', username: 'agent', email: 'agent@example.com', password: 'agent-password-1' };
  await api(base, 'POST', '/api/v1/users.create', agent, admin);
  await api(base, 'POST', '/api/v1/livechat/users/agent', { username: agent.username }, admin);
  const login = (await api(base, 'POST', '/api/v1/login', { user: agent.username, password: agent.password })).data;
  await api(base, 'POST', '/api/v1/livechat/agent.status', { status: 'available' }, login);
  return { admin, agent: login };
}

async function run() {
  mkdirSync(shots, { recursive: true });
  const { base, server, log, data } = await startServer();
  const browser = await chromium.launch({ executablePath: browserBin, args: ['--no-sandbox'] });
  const page = await browser.newPage();
  try {
    const { admin, agent } = await availableAgent(base);

    await page.goto(`${base}/livechat?serverUrl=${encodeURIComponent(base)}`);
    await page.click('button[class*=chat-button]');
    await page.fill('input[name=name]', 'Marcos Defendi');
    await page.fill('input[name=email]', 'marcos@example.com');
    await page.click('button[type=submit]');
    await page.click('[contenteditable=true]');
    await page.keyboard.type('Hello from the widget');
    await page.keyboard.press('Enter');
    await page.locator('.message-list__content__3TyF4', { hasText: 'Hello from the widget' }).waitFor();

    // The widget's room, served by the agent (Auto_Selection gave it the inquiry).
    const rooms = await api(base, 'GET', '/api/v1/livechat/rooms?open=true', undefined, admin);
    check(rooms.rooms.length === 1, `one open room expected: ${JSON.stringify(rooms)}`);
    const room = rooms.rooms[0];
    check(room.servedBy?._id === agent.userId, `the agent serves the room: ${JSON.stringify(room)}`);

    // Marks this page load: a reload would lose it.
    await page.evaluate(() => {
      window.sameLoad = true;
    });
    await api(base, 'POST', '/api/v1/chat.sendMessage', { message: { rid: room._id, msg: REPLY } }, agent);
    await page.getByText(REPLY).waitFor({ timeout: 10_000 });
    check(await page.evaluate(() => window.sameLoad === true), 'the widget reloaded');
    await page.screenshot({ path: join(shots, 'reply.png') });
    console.log(`widget test passed: the agent's reply appeared in the widget (screenshot ${join(shots, 'reply.png')})`);
  } catch (error) {
    await page.screenshot({ path: join(shots, 'failure.png') }).catch(() => {});
    console.error(`server log:\n${log.join('').slice(-5000)}`);
    throw error;
  } finally {
    await browser.close();
    server.kill();
    rmSync(data, { recursive: true, force: true });
  }
}

run().catch((error) => {
  console.error(`widget test failed: ${error.stack ?? error}`);
  process.exit(1);
});
