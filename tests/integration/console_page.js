// Drives the console page (docs/console.md) in Debian's Chromium through playwright-core
// (tests/clients): node console_page.js <console URL> [steps JSON].
//
// With steps (a JSON array, or the env SLUICE_CONSOLE_STEPS), runs them in order and exits;
// without, reads one JSON step per line on stdin until EOF or {"op":"close"}, so that a test
// can send traffic between steps. The first line on stdout is {"ok","op":"open","status","csp"}
// for the page's load; then each step prints one JSON line: {"ok":true,...} or
// {"ok":false,"error":"..."}. Steps:
//   {"op":"wait","selector":S,"timeout":ms,"state":"visible|attached|detached|hidden"} -> {ms}
//   {"op":"text","selector":S,"timeout":ms}          -> {"text"} of the first match
//   {"op":"waitText","selector":S,"text":T,"timeout":ms} -> {ms} once its text is T
//   {"op":"rows","selector":S}                       -> {"rows":[{dataset..., "text"}]}
//   {"op":"click","selector":S,"timeout":ms}  {"op":"fill","selector":S,"value":V}
//   {"op":"select","selector":S,"value":V}    {"op":"screenshot","path":P,"fullPage":bool}
//   {"op":"report"} -> {"url","csp","console":[{type,text,url}],"pageErrors":[...],
//                       "cspViolations":[...],"requests":[urls],"foreign":[urls]}
//   {"op":"close"}  -> the report, then exit
// The browser is launched with no proxy: every request the page makes must go to the console's
// own origin, and the report lists those that did not ("foreign").
"use strict";
const path = require("path");
const readline = require("readline");

const clients = path.join(__dirname, "..", "clients", "node_modules");
const { chromium } = require(path.join(clients, "playwright-core"));

const url = process.argv[2];
const stepsText = process.argv[3] || process.env.SLUICE_CONSOLE_STEPS || "";
const chromiumPath = process.env.SLUICE_CHROMIUM || "/usr/bin/chromium";

const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

async function main() {
  if (!url) throw new Error("usage: node console_page.js <console URL> [steps JSON]");
  const origin = new URL(url).origin;
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--no-proxy-server", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const seen = { console: [], pageErrors: [], requests: [], foreign: [], csp: null };

  // A CSP violation is reported on the console too, but the event says which directive.
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__cspViolations.push({ directive: e.violatedDirective, blocked: e.blockedURI,
        sample: e.sample, source: e.sourceFile, line: e.lineNumber });
    });
  });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") {
      seen.console.push({ type: m.type(), text: m.text(), url: (m.location() || {}).url || "" });
    }
  });
  page.on("pageerror", (e) => seen.pageErrors.push(String(e && e.stack ? e.stack : e)));
  page.on("request", (r) => {
    const u = r.url();
    if (u.startsWith("data:")) return;
    seen.requests.push(u);
    let o = "";
    try {
      o = new URL(u).origin;
    } catch (e) {
      o = "";
    }
    if (o !== origin) seen.foreign.push(u);
  });

  const resp = await page.goto(url, { waitUntil: "load", timeout: 15000 });
  seen.csp = resp ? resp.headers()["content-security-policy"] || null : null;
  seen.status = resp ? resp.status() : 0;
  say({ ok: seen.status === 200, op: "open", status: seen.status, csp: seen.csp });

  async function report() {
    let csp = [];
    try {
      csp = await page.evaluate(() => window.__cspViolations || []);
    } catch (e) {
      csp = [{ error: String(e) }];
    }
    return { url: url, status: seen.status, csp: seen.csp, console: seen.console,
      pageErrors: seen.pageErrors, cspViolations: csp, requests: seen.requests,
      foreign: seen.foreign };
  }

  async function run(step) {
    const t0 = Date.now();
    const timeout = step.timeout === undefined ? 5000 : step.timeout;
    const loc = step.selector ? page.locator(step.selector).first() : null;
    switch (step.op) {
      case "wait":
        await loc.waitFor({ state: step.state || "attached", timeout: timeout });
        return { ms: Date.now() - t0 };
      case "text":
        await loc.waitFor({ state: "attached", timeout: timeout });
        return { text: await loc.textContent() };
      case "waitText":
        await page.waitForFunction(
          ([sel, want]) => {
            const e = document.querySelector(sel);
            return e && e.textContent.trim() === want;
          },
          [step.selector, step.text],
          { timeout: timeout, polling: 20 });
        return { ms: Date.now() - t0 };
      case "rows":
        return {
          rows: await page.$$eval(step.selector, (els) =>
            els.map((e) => Object.assign({ text: e.textContent }, e.dataset))),
        };
      case "click":
        await loc.click({ timeout: timeout });
        return { ms: Date.now() - t0 };
      case "fill":
        await loc.fill(step.value, { timeout: timeout });
        return {};
      case "select":
        await loc.selectOption(step.value, { timeout: timeout });
        return {};
      case "screenshot":
        // No focus ring from the last fill in the picture.
        await page.evaluate(() => document.activeElement && document.activeElement.blur());
        await page.screenshot({ path: step.path, fullPage: !!step.fullPage });
        return { path: step.path };
      case "report":
      case "close":
        return await report();
      default:
        throw new Error("unknown op " + step.op);
    }
  }

  async function runOne(step) {
    try {
      const out = await run(step);
      say(Object.assign({ ok: true, op: step.op }, out));
    } catch (e) {
      say({ ok: false, op: step.op, error: String(e && e.message ? e.message : e) });
    }
  }

  if (stepsText) {
    for (const step of JSON.parse(stepsText)) {
      await runOne(step);
      if (step.op === "close") break;
    }
  } else {
    const rl = readline.createInterface({ input: process.stdin, terminal: false });
    for await (const line of rl) {
      if (!line.trim()) continue;
      let step;
      try {
        step = JSON.parse(line);
      } catch (e) {
        say({ ok: false, error: "not JSON: " + line });
        continue;
      }
      await runOne(step);
      if (step.op === "close") break;
    }
  }
  await browser.close();
}

main().then(
  () => process.exit(0),
  (e) => {
    say({ ok: false, op: "start", error: String(e && e.stack ? e.stack : e) });
    process.exit(1);
  });
