// "Issue N more" in Debian's headless Chromium (playwright-core), against the real daemons
// that tests/integration/test_ui_batches_browser.sh starts.  Environment: BASE, TMP, SHOTS,
// OFFICER_PW, ADMIN_PW, COUNT (how many certificates; default 200).  A batch started from
// the form, its progress bar moving without a reload (batches.js polling the API), 100 %,
// the one ZIP downloaded and opened (.p12 count, one opened by openssl with its password
// from passwords.csv), the page saying who took it, and the dashboard's renewal-window
// banner once the window is opened through the settings API.  No CSP violation anywhere.
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import assert from "node:assert/strict";

const BASE = process.env.BASE, TMP = process.env.TMP, SHOTS = process.env.SHOTS;
const OFFICER_PW = process.env.OFFICER_PW, ADMIN_PW = process.env.ADMIN_PW;
const COUNT = parseInt(process.env.COUNT || "200", 10);
const SIGNER_PID = parseInt(process.env.SIGNER_PID || "0", 10);
// the real signer held and let go (SIGSTOP / SIGCONT), so the batch advances in small steps
const signer = (sig) => { if (SIGNER_PID > 0) process.kill(SIGNER_PID, sig); };
const BPASS = "Batch-Passphrase 2026";
mkdirSync(SHOTS, { recursive: true });
let passed = 0;
const ok = (what) => { passed++; console.log(`ok - ${what}`); };
const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
const text = async (page, sel) => (await page.locator(sel).first().textContent()).trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
	args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const problems = [];   // console errors (a CSP violation shows up here) and dialogs
async function newPage(locale) {
	const ctx = await browser.newContext({ ignoreHTTPSErrors: true, locale, acceptDownloads: true,
		viewport: { width: 1280, height: 900 } });
	const page = await ctx.newPage();
	// a CSP violation is a console error; a failed load is reported below with its URL
	page.on("console", (m) => {
		if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text());
	});
	page.on("response", (resp) => {
		const u = new URL(resp.url());
		if (resp.status() >= 400 && u.pathname !== "/favicon.ico") problems.push(`${resp.status()} ${u.pathname}`);
	});
	page.on("pageerror", (e) => problems.push(String(e)));
	page.on("dialog", async (d) => { problems.push(`dialog: ${d.message()}`); await d.dismiss(); });
	return { ctx, page };
}

try {
	// ---- the officer logs in (English) ----
	const { ctx, page } = await newPage("en-US");
	await page.goto(`${BASE}/login`);
	await page.fill("#login", "olivia");
	await page.fill("#password", OFFICER_PW);
	await Promise.all([page.waitForURL(/\/ui$/), page.click("button.primary")]);
	assert.equal(await page.locator("#renewal-banner").count(), 0, "no banner while the window is closed");
	ok("login; the dashboard has no renewal banner while no window is open");

	// ---- the dashboard's banner once an administrator opens the window (settings API) ----
	const actx = await browser.newContext({ ignoreHTTPSErrors: true });
	let r = await actx.request.post(`${BASE}/api/v1/login`, { data: { login: "admin", password: ADMIN_PW } });
	assert.equal(r.status(), 200, "admin API login");
	const csrf = (await r.json()).csrf;
	r = await actx.request.put(`${BASE}/api/v1/settings`, { headers: { "X-CSRF-Token": csrf },
		data: { quota: String(COUNT + 100), renewal_window_start: "01-01", renewal_window_end: "12-31" } });
	assert.equal(r.status(), 200, `settings: ${await r.text()}`);
	await actx.close();
	await page.goto(`${BASE}/ui`);
	assert.match(await text(page, "#renewal-banner"), /The renewal window is open: users can renew their certificates until \d{4}-12-31/);
	await shot(page, "batches-01-dashboard-banner");
	ok("the dashboard shows the renewal-window banner once the window is open");

	// ---- the batches page: remaining quota, start COUNT ----
	await page.click("header nav >> text=Batches");
	await page.waitForURL(/\/ui\/batches$/);
	assert.match(await text(page, "#remaining"), new RegExp(`Still issuable: ${COUNT + 100} of the contracted ${COUNT + 100}\\.`));
	assert.equal(await page.getAttribute("#count", "max"), String(COUNT + 100));
	await page.fill("#count", String(COUNT));
	await page.fill("input[name=days]", "30");
	await page.fill("#passphrase", BPASS);
	await page.fill("#passphrase2", BPASS);
	await shot(page, "batches-02-form");
	const t0 = Date.now();
	signer("SIGSTOP");
	await Promise.all([page.waitForURL(/\/ui\/batches\/\d+$/), page.click("#start button.primary")]);
	const batchUrl = page.url();
	ok(`batches page shows the remaining quota; a batch of ${COUNT} started`);

	// ---- the progress bar moves without a reload ----
	await page.evaluate(() => { window.__sameDocument = true; });
	const seen = new Set();
	let midShot = false, finished = false;
	for (let i = 0; i < 3000 && !finished; i++) {
		let s = null;
		try {
			s = await page.evaluate(() => {
				const el = document.querySelector("#progress .batch-live");
				return el && { same: window.__sameDocument === true, state: el.getAttribute("data-state"),
					value: Number(el.querySelector(".batch-bar").value),
					pct: el.querySelector(".batch-pct").textContent.trim(),
					dl: document.querySelector("#download") !== null };
			});
		} catch (e) { s = null; }   // the page is reloading
		if (s !== null && s.same && s.state === "running") {
			seen.add(s.value);
			if (!midShot && s.value > 0 && s.value < COUNT) {
				await shot(page, "batches-03-progress");
				midShot = true;
			}
		}
		if (s !== null && !s.same && s.dl) {
			finished = true;
			assert.equal(s.state, "finished");
			assert.equal(s.value, COUNT);
			assert.equal(s.pct, "100 %");
		}
		if (!finished && midShot) {
			signer("SIGCONT");   // seen moving: let it finish
		} else if (!finished && i % 4 === 0) {
			signer("SIGCONT");   // a 20 ms step, then the page's poll shows where it stands
			await sleep(20);
			signer("SIGSTOP");
		}
		if (!finished) await sleep(100);
	}
	signer("SIGCONT");
	const secs = ((Date.now() - t0) / 1000).toFixed(1);
	assert.ok(finished, `the batch did not finish (values seen: ${[...seen].join(",")})`);
	const moving = [...seen].filter((v) => v > 0 && v < COUNT);
	assert.ok(seen.size >= 2 && moving.length >= 1,
		`the bar did not move without a reload: values seen ${[...seen].join(",")}`);
	await shot(page, "batches-04-finished");
	ok(`progress bar moved without a reload (${seen.size} values: ${[...seen].sort((a, b) => a - b).slice(0, 8).join(", ")}…), then 100 %; ${COUNT} in ${secs} s`);

	// ---- the one ZIP ----
	await page.fill("#dl-passphrase", BPASS);
	const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download button.primary")]);
	assert.match(download.suggestedFilename(), /^batch-\d+\.zip$/);
	const zip = `${TMP}/browser-batch.zip`, dir = `${TMP}/browser-zip`;
	await download.saveAs(zip);
	mkdirSync(dir);
	execFileSync("unzip", ["-q", zip, "-d", dir]);
	const files = readdirSync(dir);
	const p12s = files.filter((f) => f.endsWith(".p12"));
	assert.equal(p12s.length, COUNT, `.p12 files in the ZIP: ${p12s.length}`);
	for (const f of ["passwords.csv", "issuing-ca.pem", "issuing-ca.der", "root-ca.pem", "root-ca.der"])
		assert.ok(files.includes(f), `the ZIP lacks ${f}`);
	const rows = readFileSync(`${dir}/passwords.csv`, "utf8").trim().split("\n");
	assert.equal(rows[0], "cn,serial,password");
	assert.equal(rows.length, COUNT + 1);
	const [cn, serial, pw] = rows[Math.floor(COUNT / 2)].split(",");
	writeFileSync(`${TMP}/browser-p12pw`, pw, { mode: 0o600 });
	const pem = execFileSync("openssl", ["pkcs12", "-in", `${dir}/${cn}.p12`, "-passin",
		`file:${TMP}/browser-p12pw`, "-nokeys", "-clcerts"], { stdio: ["ignore", "pipe", "pipe"] }).toString();
	const subj = execFileSync("openssl", ["x509", "-noout", "-subject", "-serial"], { input: pem }).toString();
	assert.match(subj, new RegExp(`CN ?= ?${cn}`));
	assert.match(subj, new RegExp(`serial=${serial}`, "i"));
	execFileSync("openssl", ["pkcs12", "-in", `${dir}/${cn}.p12`, "-passin", `file:${TMP}/browser-p12pw`,
		"-nocerts", "-nodes"], { stdio: ["ignore", "ignore", "pipe"] });
	ok(`the ZIP has ${p12s.length} .p12 files, the CA as PEM and DER, passwords.csv; ${cn}.p12 opens with its password (certificate and key)`);

	// ---- then it is gone, and the page says by whom ----
	await page.goto(batchUrl);
	assert.match(await text(page, "#gone"), /The ZIP was downloaded by olivia on .*cannot be downloaded again/);
	assert.equal(await page.locator("#download").count(), 0, "no download form any more");
	await shot(page, "batches-05-downloaded");
	ok("after the download the page says it is gone, by whom and when");

	await page.goto(`${BASE}/ui/batches`);
	assert.match(await text(page, "#recent tbody tr"), /finished/);
	await shot(page, "batches-06-list");
	await page.goto(`${BASE}/ui`);
	await shot(page, "batches-07-dashboard");
	assert.deepEqual(problems, [], "no console error (CSP), script error or dialog");
	ok("no CSP violation, script error or dialog on any page");
	await ctx.close();
	console.log(`${passed} passed, 0 failed`);
} catch (e) {
	console.error(`FAIL after ${passed} steps: ${e.stack || e}`);
	console.log(`${passed} passed, 1 failed`);
	process.exitCode = 1;
} finally {
	await browser.close();
}
