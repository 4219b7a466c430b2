// The lab's web pages in a real browser: Debian's chromium driven by playwright-core,
// against `writeback-sim lab` on free ports. Three journeys of the article, each checked on
// what a person sees and in AD:
//   1. a user resets her password in the SSPR portal (the code read off the console) → the
//      console, already open, shows the PasswordSet run by itself, event 31002 is logged, and
//      `ldapwhoami` binds with the new password;
//   2. the connector's Reset Password right revoked (`lab ctl revoke`) → the portal shows
//      SSPR_0029's words (not the admin's "Access denied"), the console event 33004 with the user's DN;
//   3. a device registered through Microsoft Graph → "Run a Delta cycle now" → the export
//      adds it and the connector space shows it joined.
// Plus the admin center, signed in at the lab's identity platform: an admin's reset with
// "require change at next sign-in". Every page visited is saved as a screenshot.
//
//   node tests/interop/pages.mjs BIN NODE_MODULES SCREENSHOTS
//
// BIN: the writeback-sim binary; NODE_MODULES: a folder holding playwright-core;
// SCREENSHOTS: where the PNGs go. Needs /usr/bin/chromium and ldap-utils.

import { createRequire } from "node:module";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import https from "node:https";
import http from "node:http";

const [BIN, NODE_MODULES, SHOTS] = process.argv.slice(2);
if (!BIN || !NODE_MODULES || !SHOTS) {
  console.error("usage: node tests/interop/pages.mjs BIN NODE_MODULES SCREENSHOTS");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(NODE_MODULES), "..", "pages.cjs"));
const { chromium } = require("playwright-core");

const WORK = mkdtempSync(path.join(tmpdir(), "wbsim-pages-"));
const STATE = path.join(WORK, "lab");
mkdirSync(SHOTS, { recursive: true });
const NEW_PASSWORD = "Portal#Reset2026";
const BOB_DN = "CN=Bob Jones,OU=Staff,DC=gntech,DC=me";
const DOMAIN_DN = "DC=gntech,DC=me";

let output = "";
const lab = spawn(BIN, ["lab", "--state", STATE, "--ports", "auto"], { stdio: ["ignore", "pipe", "pipe"] });
lab.stdout.on("data", (d) => (output += d));
lab.stderr.on("data", (d) => (output += d));

function fail(message) {
  throw new Error(message);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// An HTTP(S) request trusting the lab's CA; resolves to { status, body }.
function request(url, { method = "GET", headers = {}, body, ca } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === "https:" ? https : http;
    const req = lib.request(u, { method, headers, ca }, (res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode, body: data }));
    });
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

async function labUp() {
  const file = path.join(STATE, "lab.json");
  for (let i = 0; i < 600; i++) {
    if (lab.exitCode !== null) fail(`the lab exited (${lab.exitCode})`);
    if (existsSync(file)) {
      try {
        const info = JSON.parse(readFileSync(file, "utf8"));
        const r = await request(`${info.control_url}/health`);
        if (r.status === 200) return info;
      } catch {
        // not written whole yet, or not listening yet
      }
    }
    await sleep(100);
  }
  fail("the lab did not answer within 60 s");
}

function ok(what) {
  console.log(`ok   ${what}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/// Wait until the element `selector` of `page` contains `text` (the page is not reloaded).
async function waitForText(page, selector, text, timeout = 15000) {
  try {
    await page.waitForFunction(
      ([s, t]) => {
        const el = document.querySelector(s);
        return el && el.innerText.includes(t);
      },
      [selector, text],
      { timeout },
    );
  } catch {
    await shot(page, "failure");
    const found = await page.locator(selector).first().innerText().catch(() => "(no such element)");
    fail(`${page.url()}: ${selector} does not show "${text}"; it shows: ${found.slice(0, 600)}`);
  }
}

/// Through the portal as `upn`: the user ID, the code read off the console's page `codes`,
/// a new password twice, Finish (screenshots of each step when `shots`).
async function resetInPortal(portal, codes, base, upn, shots) {
  await portal.goto(`${base}/portal`);
  if (shots) await shot(portal, "portal-user-id");
  await portal.getByLabel("Email or Username").fill(upn);
  await portal.getByRole("button", { name: "Next" }).click();
  await portal.getByLabel("Enter your verification code").waitFor();
  if (shots) await shot(portal, "portal-verify");
  await codes.goto(`${base}/console/codes`);
  const code = (await codes.locator("#codes tbody tr", { hasText: upn }).first().locator("code").innerText()).trim();
  if (!/^\d{6}$/.test(code)) fail(`no code for ${upn} in the console: "${code}"`);
  if (shots) await shot(codes, "console-codes");
  await portal.getByLabel("Enter your verification code").fill(code);
  await portal.getByRole("button", { name: "Next", exact: true }).click();
  await portal.getByLabel("Enter new password").fill(NEW_PASSWORD);
  await portal.getByLabel("Confirm new password").fill(NEW_PASSWORD);
  if (shots) await shot(portal, "portal-new-password");
  await portal.getByRole("button", { name: "Finish" }).click();
}

async function main() {
  const info = await labUp();
  const base = info.portal_url.replace(/\/portal$/, "");
  const ca = readFileSync(info.ca_file);
  console.log(`lab up: ${base}`);

  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  try {
    // The lab's CA is not in the browser's store: accept its certificates for this run.
    const adminSide = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 } });
    const userSide = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1024, height: 760 } });

    // The Entra Connect server: sign in as the domain's Administrator.
    const console_ = await adminSide.newPage();
    console_.setDefaultTimeout(15000);
    await console_.goto(info.console_url);
    if (!console_.url().includes("/console/signin")) fail(`the console did not ask to sign in: ${console_.url()}`);
    await shot(console_, "console-sign-in");
    await console_.getByLabel("User name (DN, user@domain or DOMAIN\\user)").fill(info.admin_dn);
    await console_.getByLabel("Password").fill(info.admin_password);
    await console_.getByRole("button", { name: "Sign in" }).click();
    await console_.waitForURL(/\/console$/);
    await waitForText(console_, "h1", "Operations");
    ok("the console signs in the domain's Administrator");

    // 1. Alice resets her forgotten password in the portal.
    const portal = await userSide.newPage();
    portal.setDefaultTimeout(15000);
    const codes = await adminSide.newPage();
    await resetInPortal(portal, codes, base, "alice@gntech.me", true);
    await waitForText(portal, "#done", "Your password has been reset");
    await shot(portal, "portal-done");
    ok("the portal resets alice's password with the code the console showed");

    // The console, open all along, shows the run without a reload.
    await waitForText(console_, "#runs", "alice@gntech.me");
    await waitForText(console_, "#runs tbody tr:first-child", "PasswordSet");
    await waitForText(console_, "#runs tbody tr:first-child", "success");
    await shot(console_, "console-operations");
    ok("the open console shows the PasswordSet run by itself (server-sent events)");
    await console_.goto(`${base}/console/events?id=31002`);
    await waitForText(console_, "#events", "PasswordResetSuccess");
    await waitForText(console_, "#events", "alice@gntech.me");
    ok("the event viewer shows 31002 PasswordResetSuccess");
    const whoami = execFileSync("ldapwhoami", ["-x", "-H", info.ldaps_url, "-D", "alice@gntech.me", "-w", NEW_PASSWORD], {
      env: { ...process.env, LDAPTLS_CACERT: info.ca_file },
    }).toString();
    if (!whoami.includes("alice")) fail(`ldapwhoami: ${whoami}`);
    ok(`ldapwhoami with the new password: ${whoami.trim()}`);

    // 2. The connector account loses Reset Password: SSPR_0029 and event 33004 with the DN.
    execFileSync(BIN, ["lab", "ctl", "--state", STATE, "revoke", "reset_password", "--on", DOMAIN_DN]);
    await resetInPortal(portal, codes, base, "bob@gntech.me", false);
    await waitForText(portal, "#technical", "SSPR_0029: We are unable to reset your password due to an error in your on-premises configuration");
    if (await portal.locator("#error").count()) fail("the portal shows the admin's words to the user");
    await shot(portal, "portal-sspr-0029");
    ok("with Reset Password revoked the portal shows SSPR_0029's words, not the admin's \"Access denied\"");
    await console_.goto(`${base}/console/events?id=33004`);
    await waitForText(console_, "#events", "ADPermissionsError");
    await waitForText(console_, "#events", BOB_DN);
    await shot(console_, "console-events-33004");
    ok("the event viewer shows 33004 ADPermissionsError with bob's DN");
    execFileSync(BIN, ["lab", "ctl", "--state", STATE, "grant", "reset_password", "--on", DOMAIN_DN]);

    // 3. A device registered through Graph (delegated, as the lab's admin), then a cycle.
    const form = new URLSearchParams({
      grant_type: "password",
      client_id: info.public_client_id,
      username: info.admin_upn,
      password: info.admin_user_password,
      scope: "https://graph.microsoft.com/.default",
    }).toString();
    const token = await request(info.token_url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form,
      ca,
    });
    if (token.status !== 200) fail(`token: ${token.status} ${token.body}`);
    const bearer = { authorization: `Bearer ${JSON.parse(token.body).access_token}`, "content-type": "application/json" };
    const device = await request(`${info.graph_url}/devices`, {
      method: "POST",
      headers: bearer,
      ca,
      body: JSON.stringify({
        accountEnabled: true,
        deviceId: "6f1c0b9e-2d4a-4c7e-9b1a-0c5d7e8f9a01",
        displayName: "ALICE-LAPTOP",
        operatingSystem: "Windows",
        operatingSystemVersion: "10.0.22631.4317",
        alternativeSecurityIds: [{ type: 2, key: "WAA1ADAAOQA6ADwAUwBIAEEAMQAtAFQAUAAtAFAAVQBCAEsARQBZAD4AQQBCAEMARAA=" }],
      }),
    });
    if (device.status !== 201) fail(`POST /devices: ${device.status} ${device.body}`);
    const alice = JSON.parse((await request(`${info.graph_url}/users/alice@gntech.me`, { headers: bearer, ca })).body);
    const owner = await request(`${info.graph_url}/devices/${JSON.parse(device.body).id}/registeredOwners/$ref`, {
      method: "POST",
      headers: bearer,
      ca,
      body: JSON.stringify({ "@odata.id": `https://graph.microsoft.com/v1.0/directoryObjects/${alice.id}` }),
    });
    if (owner.status !== 204) fail(`registeredOwners: ${owner.status} ${owner.body}`);
    ok("ALICE-LAPTOP registered through Microsoft Graph");
    await console_.goto(`${base}/console/scheduler`);
    await shot(console_, "console-scheduler");
    await console_.getByRole("button", { name: "Run a Delta cycle now" }).click();
    await console_.waitForURL(/\/console$/);
    const exportRow = console_.locator("#runs tbody tr", { hasText: "Export" }).first();
    const cells = await exportRow.locator("td").allInnerTexts();
    // # | Connector | Profile | Status | Start | End | Adds | …
    if (cells[2] !== "Export" || cells[3] !== "success" || !(Number(cells[6]) >= 1)) fail(`export row: ${cells.join(" | ")}`);
    ok(`the next export adds the device (${cells[6]} add)`);
    await console_.goto(`${base}/console/connectors?search=ALICE-LAPTOP`);
    await waitForText(console_, "#objects", "CN=ALICE-LAPTOP");
    await shot(console_, "console-connectors");
    ok("the connector space shows ALICE-LAPTOP joined to its AD object");
    for (const [tab, name] of [["features", "console-features"], ["faults", "console-faults"]]) {
      await console_.goto(`${base}/console/${tab}`);
      await shot(console_, name);
    }
    await waitForText(console_, "#faults-list", "No fault is on.");

    // The admin center: signed in at the identity platform, an admin's reset of carol.
    const admin = await adminSide.newPage();
    admin.setDefaultTimeout(15000);
    await admin.goto(info.admin_url);
    await admin.getByLabel("Email, phone, or Skype").fill(info.admin_upn);
    await admin.getByLabel("Password").fill(info.admin_user_password);
    await admin.getByRole("button", { name: "Sign in" }).click();
    await admin.waitForURL(/\/admin$/);
    await shot(admin, "admin-overview");
    await admin.goto(`${base}/admin/users`);
    await shot(admin, "admin-users");
    await admin.getByRole("link", { name: "Carol White" }).click();
    await admin.getByRole("button", { name: "Reset password" }).click();
    await waitForText(admin, "#answer", "written back to on-premises AD");
    const temporary = (await admin.locator("#temporary-password").innerText()).trim();
    await waitForText(admin, "#pwd-last-set", "must change at next logon");
    await shot(admin, "admin-user-reset");
    ok(`the admin center resets carol with a temporary password (${temporary.length} characters) she must change`);
    for (const [p, name] of [["devices", "admin-devices"], ["groups", "admin-groups"], ["password-reset", "admin-password-reset"], ["licenses", "admin-licenses"]]) {
      await admin.goto(`${base}/admin/${p}`);
      await shot(admin, name);
    }
    await waitForText(admin, "h1", "Licenses");
  } finally {
    await browser.close();
  }
}

try {
  await main();
  console.log(`all page checks passed; screenshots in ${SHOTS}`);
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  console.error("--- lab output:\n" + output);
  process.exitCode = 1;
} finally {
  lab.kill("SIGTERM");
  await new Promise((r) => (lab.exitCode !== null ? r() : lab.on("exit", r)));
  rmSync(WORK, { recursive: true, force: true });
}
