// Opens tollgate's dashboard in Debian's chromium (headless, driven by
// playwright-core), checks that it shows the providers healthy, breaks provider
// "acme" in tollgate-sim, drives calls until the breaker opens, and checks that
// the page shows it — then saves a screenshot.
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
  const page = await browser.newPage({ viewport: { width: 1280, height: 600 } });
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
  let shown = null;
  for (let i = 0; i < 100 && shown !== "open"; i++) {
    const call = await fetch(`${apiUrl}/v1/sms/send`, {
      method: "POST", body, headers: { Authorization: `Bearer ${callerKey}`, "Content-Type": "application/json" } });
    if (call.status !== 200) throw new Error(`a call failed with ${call.status}: the failover should have served it`);
    await page.waitForTimeout(100);
    shown = await state("acme").getAttribute("data-state");
  }
  if (shown !== "open") throw new Error(`after breaking acme the page still shows ${shown}`);
  const errors = await page.locator('tr[data-provider="acme"] td').nth(4).innerText();
  if (!errors.includes("unavailable")) throw new Error(`acme's error breakdown does not show unavailable: ${errors}`);
  const zetaShare = await page.locator('tr[data-provider="zeta"] td').nth(6).innerText();
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`ok: acme shown open (${errors.trim()}), zeta share ${zetaShare.trim()}, screenshot ${screenshot}`);
} catch (e) {
  failed = failed ?? e.message;
} finally {
  await browser.close();
}
if (failed) {
  console.error(`FAILED: ${failed}`);
  process.exit(1);
}
