// The officer pages of issue #4 in Debian's headless Chromium (playwright-core), against the
// real daemons that tests/integration/test_ui_officer_browser.sh starts: the account page's
// password change, the settings page (a field error, then saved), bulk errors in Japanese,
// the certificate CSV export (the downloaded file's rows), bulk revoke from the list, and
// no Content-Security-Policy violation anywhere.  Environment: BASE, TMP, SHOTS, ADMIN_PW.
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import assert from "node:assert/strict";

const BASE = process.env.BASE, TMP = process.env.TMP, SHOTS = process.env.SHOTS;
const ADMIN_PW = process.env.ADMIN_PW;
mkdirSync(SHOTS, { recursive: true });
let passed = 0;
const ok = (what) => { passed++; console.log(`ok - ${what}`); };
const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
const text = async (page, sel) => (await page.locator(sel).first().textContent()).trim();

// RFC 4180 rows (quoted fields, doubled quotes), enough for our own export
function parseCsv(s) {
	const rows = [];
	let row = [], field = "", q = false;
	for (let i = 0; i < s.length; i++) {
		const c = s[i];
		if (q) {
			if (c === '"' && s[i + 1] === '"') { field += '"'; i++; }
			else if (c === '"') q = false;
			else field += c;
		} else if (c === '"') q = true;
		else if (c === ",") { row.push(field); field = ""; }
		else if (c === "\r") { /* CRLF */ }
		else if (c === "\n") { row.push(field); rows.push(row); row = []; field = ""; }
		else field += c;
	}
	return rows;
}

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
	args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const problems = [];   // CSP violations, script errors, dialogs nobody expected

try {
	const ctx = await browser.newContext({ ignoreHTTPSErrors: true, locale: "ja-JP",
		acceptDownloads: true, viewport: { width: 1280, height: 900 } });
	const page = await ctx.newPage();
	// refused forms answer 4xx on purpose (and there is no favicon): those are not problems;
	// a CSP violation ("Refused to ...") or a script error is
	page.on("console", (m) => {
		if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text());
	});
	page.on("pageerror", (e) => problems.push(String(e)));
	page.on("dialog", async (d) => {
		if (d.type() === "confirm") await d.accept(); else { problems.push(d.message()); await d.dismiss(); }
	});

	// ---- log in as the administrator ----
	await page.goto(`${BASE}/login`);
	await page.fill("#login", "admin");
	await page.fill("#password", ADMIN_PW);
	await Promise.all([page.waitForURL(/\/ui$/), page.click("button.primary")]);
	assert.equal(await page.locator("header nav a[href='/ui/settings']").count(), 1);
	assert.equal(await text(page, "#nav-account"), "アカウント");
	ok("administrator logged in: the header links to the account and the settings");

	// ---- password change ----
	await page.click("#nav-account");
	assert.equal(await text(page, "h1"), "アカウント");
	assert.match(await text(page, "#pw-policy"), /12〜128文字/);
	await page.fill("#current", ADMIN_PW);
	await page.fill("#new", "short");
	await page.fill("#again", "short");
	// the browser's own minlength would stop it: the server's rule is what we test
	await page.click("#pw-form button.primary");
	assert.match(await text(page, ".notice.error"), /12〜128文字にしてください/);
	await shot(page, "officer-01-password-policy-ja");
	ok("password change: a short password is refused with the rule in Japanese");
	const NEWPW = "the administrator's new passphrase";
	await page.fill("#current", "wrong current password");
	await page.fill("#new", NEWPW);
	await page.fill("#again", NEWPW);
	await page.click("#pw-form button.primary");
	assert.match(await text(page, ".notice.error"), /現在のパスワードが違います/);
	await page.fill("#current", ADMIN_PW);
	await page.fill("#new", NEWPW);
	await page.fill("#again", NEWPW);
	await Promise.all([page.waitForURL(/done=password/), page.click("#pw-form button.primary")]);
	assert.match(await text(page, ".notice.ok"), /パスワードを変更しました/);
	await shot(page, "officer-02-password-changed");
	const api = await page.request.post(`${BASE}/api/v1/login`, { data: { login: "admin", password: NEWPW } });
	assert.equal(api.status(), 200, "the new password logs in");
	ok("password change: wrong current password refused, then changed; the new password works");
	// that API login rotated the browser's session cookie: log in again on the page
	await page.goto(`${BASE}/login`);
	if (page.url().includes("/login")) {
		await page.fill("#login", "admin");
		await page.fill("#password", NEWPW);
		await Promise.all([page.waitForURL(/\/ui$/), page.click("button.primary")]);
	}

	// ---- settings ----
	await page.click("header nav a[href='/ui/settings']");
	assert.equal(await text(page, "h1"), "設定");
	assert.match(await text(page, "#profiles"), /client/);
	await page.fill("#s-quota", "lots");
	await page.fill("#s-expiry_notice_days", "30,7");
	await page.click("form.settings button.primary");
	assert.match(await text(page, ".notice.error"), /契約数.*\(quota\)/);
	assert.equal(await page.locator(".field.bad #s-quota").count(), 1);
	assert.equal(await page.inputValue("#s-expiry_notice_days"), "30,7", "what was typed is kept");
	await shot(page, "officer-03-settings-error");
	ok("settings: a bad quota is named next to its field; the other values stay as typed");
	await page.fill("#s-quota", "300");
	await page.fill("#s-ip_allowlist", "127.0.0.0/8\n::1/128");
	await Promise.all([page.waitForURL(/saved=3/), page.click("form.settings button.primary")]);
	assert.match(await text(page, ".notice.ok"), /3 項目を変更/);
	assert.equal(await page.inputValue("#s-quota"), "300");
	assert.equal(await page.inputValue("#s-ip_allowlist"), "127.0.0.0/8\n::1/128");
	await shot(page, "officer-04-settings-saved");
	const set = await (await page.request.get(`${BASE}/api/v1/settings`)).json();
	assert.equal(set.quota, "300");
	assert.equal(set.expiry_notice_days, "30,7");
	ok("settings: quota, reminders and allow-list saved together (the API agrees)");

	// ---- bulk: errors in Japanese, then 3 good rows registered ----
	const bad = "user\temail\tdevice\tcommon_name\n" +
		"x1\tnot-an-email\tpc\tcsv-bad\n" +
		"x2\tx2@example.jp\tpc\tcsv-bad2\tspare\n";
	await page.goto(`${BASE}/ui/bulk`);
	await page.fill("textarea[name=text]", bad);
	await page.click("form.card button.primary");
	const reasons = await page.locator("table.errors tr.bad td:nth-child(3)").allTextContents();
	assert.equal(reasons.length, 2);
	assert.match(reasons[0], /@ はちょうど1つ必要です/);
	assert.match(reasons[1], /見出しは 4列しかありません/);
	await shot(page, "officer-05-bulk-errors-ja");
	ok("bulk preview: both row errors are worded in Japanese");
	const good = "user\temail\tdevice\tcommon_name\n" +
		["a", "b", "c"].map((k) => `csv-${k}\tcsv-${k}@example.jp\tpc\tcsv-${k}`).join("\n") + "\n";
	await page.goto(`${BASE}/ui/bulk`);
	await page.fill("textarea[name=text]", good);
	await page.click("form.card button.primary");
	await Promise.all([page.waitForNavigation(), page.click("form.confirm button.primary")]);
	assert.match(await text(page, ".notice.ok"), /3/);
	ok("bulk: 3 good rows registered");

	// ---- CSV export of the current search ----
	await page.goto(`${BASE}/ui/certs?cn=csv-&sort=cn&order=asc`);
	await shot(page, "officer-06-certs-export");
	const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
	assert.equal(dl.suggestedFilename(), "certificates.csv");
	const file = `${TMP}/export.csv`;
	await dl.saveAs(file);
	const rows = parseCsv(readFileSync(file, "utf8"));
	assert.deepEqual(rows[0].slice(0, 3), ["id", "common_name", "state"]);
	assert.deepEqual(rows.slice(1).map((r) => r[1]), ["csv-a", "csv-b", "csv-c"]);
	assert.ok(rows.slice(1).every((r) => r[2] === "awaiting_download"));
	ok("CSV export: the downloaded file has the 3 matching rows, in the list's order");

	// ---- bulk revoke from the list ----
	await page.click("#bulk-revoke");
	assert.ok(await page.isChecked("input[name=kind][value=revoke]"), "revoke is chosen");
	await shot(page, "officer-07-bulk-revoke");
	ok("the list's bulk revoke link opens the bulk page with revoke chosen");

	// ---- English: the same bulk error, worded in English ----
	await Promise.all([page.waitForNavigation(), page.click("form.lang button[value=en]")]);
	await page.fill("textarea[name=text]", bad);
	await page.check("input[name=kind][value=issue]");
	await page.click("form.card button.primary");
	assert.match(await text(page, "table.errors tr.bad td:nth-child(3)"), /exactly one @/);
	await Promise.all([page.waitForNavigation(), page.click("form.lang button[value=ja]")]);
	ok("the same bulk error on an English page is in English");

	assert.deepEqual(problems, [], "no CSP violation, script error or unexpected dialog");
	ok("no Content-Security-Policy violation or script error on any page");
	await ctx.close();
	console.log(`${passed} passed, 0 failed`);
} catch (e) {
	console.error(`FAIL after ${passed} steps: ${e.stack || e}`);
	console.log(`${passed} passed, 1 failed`);
	process.exitCode = 1;
} finally {
	await browser.close();
}
