// Opens tollgate's dashboard in Debian's chromium (headless, driven by
// playwright-core), checks that it shows the providers healthy, breaks provider
// "acme" in tollgate-sim, drives calls until the breaker opens, and checks that
// the page shows it: the table, the 15-minute charts (acme's success rate down,
// zeta's share up, unavailable errors) and the timeline (acme's breaker opening
// with its reason); then disables acme from the page with a reason, checks the
// timeline shows that too, and saves a screenshot.
//
// Environment: ADMIN_URL, ADMIN_TOKEN, API_URL, CALLER_KEY, SIM_CONTROL_URL,
// SCREENSHOT (path), CHROMIUM (default /usr/bin/chromium).
import { chromium } from "playwright-core";

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const adminUrl = env("ADMIN_URL");
const token = env("ADMIN_TOKEN");
const apiUrl = env("API_URL");
const callerKey = env("CALLER_KEY");
const simControl = env("SIM_CONTROL_URL");
const screenshot = env("SCREENSHOT");

const browser = await chromium.launch({
  executablePath: env("CHROMIUM", "/usr/bin/chromium"),
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = null;
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("pageerror", (e) => { failed = failed ?? `page error: ${e.message}`; });
  await page.goto(`${adminUrl}/dashboard#token=${encodeURIComponent(token)}`);

  const state = (provider) => page.locator(`tr[data-provider="${provider}"] td.state .badge`).first();
  await state("acme").waitFor({ timeout: 10000 });
  const before = await state("acme").getAttribute("data-state");
  if (before !== "closed") throw new Error(`acme should start closed, the page shows ${before}`);
  if (await state("zeta").getAttribute("data-state") !== "closed") throw new Error("zeta should be closed");

  // Break acme and keep calling: failures fail over to zeta until acme's breaker opens.
  const r = await fetch(`${simControl}/_sim/behavior`, { method: "POST", body: '{"faults":[{"kind":"http_503"}]}' });
  if (!r.ok) throw new Error(`cannot break the simulator: ${r.status}`);
  const body = JSON.stringify({ to: "+8613800000000", template: "T1" });
  const send = () => fetch(`${apiUrl}/v1/sms/send`, {
    method: "POST", body, headers: { Authorization: `Bearer ${callerKey}`, "Content-Type": "application/json" } });
  let shown = null;
  for (let i = 0; i < 100 && shown !== "open"; i++) {
    const call = await send();
    if (call.status !== 200) throw new Error(`a call failed with ${call.status}: the failover should have served it`);
    await page.waitForTimeout(100);
    shown = await state("acme").getAttribute("data-state");
  }
  if (shown !== "open") throw new Error(`after breaking acme the page still shows ${shown}`);
  // Callers keep calling while acme is out: with its breaker open these go to zeta
  // alone. (Stopping at the moment the page shows "open" left zeta's share of the
  // window to chance: each call before the trip counts once for acme's failure and
  // once for zeta's success, so zeta only passes half with calls after the trip.)
  for (let i = 0; i < 10; i++) {
    const call = await send();
    if (call.status !== 200) throw new Error(`a call failed with ${call.status} while acme was out`);
  }
  const errors = await page.locator('tr[data-provider="acme"] td').nth(4).innerText();
  if (!errors.includes("unavailable")) throw new Error(`acme's error breakdown does not show unavailable: ${errors}`);
  const zetaShare = await page.locator('tr[data-provider="zeta"] td').nth(6).innerText();

  // The charts: the history is fetched every 2 s; wait until it shows the outage.
  const line = (chart, attr, key) =>
    page.locator(`svg[data-chart="${chart}"][data-capability="sms.send"] polyline[${attr}="${key}"]`);
  // What the chart shows over its 15 minutes (data-min / data-max of the line):
  // the windows behind the newest point may already have emptied on a slow machine.
  const value = async (chart, attr, key, which) => {
    const l = line(chart, attr, key);
    return (await l.count()) ? Number(await l.first().getAttribute(which)) : NaN;
  };
  let acmeRate = NaN, zetaLine = NaN, unavailable = NaN;
  for (let i = 0; i < 50; i++) {
    acmeRate = await value("success", "data-provider", "acme", "data-min");
    zetaLine = await value("share", "data-provider", "zeta", "data-max");
    unavailable = await value("errors", "data-class", "unavailable", "data-max");
    if (acmeRate < 1 && zetaLine > 0.5 && unavailable > 0) break;
    await page.waitForTimeout(200);
  }
  if (!(acmeRate < 1)) throw new Error(`acme's success-rate chart does not show the failures (lowest point ${acmeRate})`);
  if (!(zetaLine > 0.5)) throw new Error(`zeta's traffic-share chart does not show it taking over (highest point ${zetaLine})`);
  if (!(unavailable > 0)) throw new Error(`the errors chart shows no unavailable errors (highest point ${unavailable})`);
  for (const chart of ["p95", "p50", "cost"]) {
    if (!(await line(chart, "data-provider", "zeta").count())) throw new Error(`no ${chart} chart line for zeta`);
  }

  // The timeline: acme's breaker opening, with the breaker's reason.
  const opened = page.locator('#timeline li[data-kind="breaker"][data-provider="acme"][data-state="open"]');
  await opened.first().waitFor({ timeout: 10000 });
  const openedText = await opened.first().innerText();
  if (!openedText.includes("sms.send") || !openedText.includes("—")) {
    throw new Error(`the timeline's breaker entry lacks the capability or the reason: ${openedText}`);
  }

  // A manual disable from the page, with the operator's reason.
  page.once("dialog", (d) => d.accept("vendor outage, ticket 4711"));
  await page.locator('tr[data-provider="acme"] button[data-act="disable"]').click();
  const disabled = page.locator('#timeline li[data-kind="disabled"][data-provider="acme"]');
  await disabled.first().waitFor({ timeout: 10000 });
  if (!(await disabled.first().innerText()).includes("vendor outage, ticket 4711")) {
    throw new Error(`the timeline's disable entry lacks the reason: ${await disabled.first().innerText()}`);
  }
  await state("acme").waitFor({ timeout: 5000 });
  await page.waitForFunction(() =>
    document.querySelector('tr[data-provider="acme"] td.state .badge')?.dataset.state === "disabled", null, { timeout: 5000 });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`ok: acme shown open (${errors.trim()}), zeta share ${zetaShare.trim()}; charts: acme success ${acmeRate}, ` +
              `zeta share ${zetaLine}, unavailable ${unavailable}; timeline: "${openedText.trim()}"; screenshot ${screenshot}`);
} catch (e) {
  failed = failed ?? e.message;
} finally {
  await browser.close();
}
if (failed) {
  console.error(`FAILED: ${failed}`);
  process.exit(1);
}
