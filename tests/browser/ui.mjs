// End-to-end test of inkan-rad's web pages in Debian's headless Chromium (playwright-core),
// against the real daemons that tests/integration/test_ui_browser.sh starts.  Environment:
// BASE (https://127.0.0.1:port), TMP (the test's folder), SHOTS (where screenshots go),
// OFFICER_PW.  Each step prints "ok - ..."; the first failure exits non-zero.
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { writeFileSync, mkdirSync } from "node:fs";
import assert from "node:assert/strict";

const BASE = process.env.BASE, TMP = process.env.TMP, SHOTS = process.env.SHOTS;
const OFFICER_PW = process.env.OFFICER_PW;
mkdirSync(SHOTS, { recursive: true });
let passed = 0;
const ok = (what) => { passed++; console.log(`ok - ${what}`); };
const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
	args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const dialogs = [];
async function newPage(locale) {
	const ctx = await browser.newContext({ ignoreHTTPSErrors: true, locale, acceptDownloads: true,
		viewport: { width: 1280, height: 900 } });
	const page = await ctx.newPage();
	// a script that ran would open a dialog: record every one; the revoke button's own
	// confirmation is accepted
	page.on("dialog", async (d) => {
		dialogs.push(d.message());
		if (d.type() === "confirm") await d.accept(); else await d.dismiss();
	});
	return { ctx, page };
}
const text = async (page, sel) => (await page.locator(sel).first().textContent()).trim();

try {
	// ---- officer login (Japanese by Accept-Language), wrong password first ----
	const { ctx: octx, page } = await newPage("ja-JP");
	await page.goto(`${BASE}/ui`);
	assert.match(page.url(), /\/login\?next=/, "an anonymous /ui goes to the login page");
	assert.equal(await page.getAttribute("html", "lang"), "ja");
	await shot(page, "01-login-ja");
	await page.fill("#login", "olivia");
	await page.fill("#password", "not the password");
	await page.click("button.primary");
	assert.match(await text(page, ".notice.error"), /ログイン名またはパスワードが違います/);
	ok("login: a wrong password is refused with a message in Japanese");
	// a tampered CSRF field is refused even on the login form
	await page.fill("#login", "olivia");
	await page.fill("#password", OFFICER_PW);
	await page.evaluate(() => { document.querySelector("form.narrow input[name=csrf]").value = "forged"; });
	let resp = await Promise.all([page.waitForNavigation(), page.click("button.primary")]);
	assert.equal(resp[0].status(), 403);
	assert.match(await text(page, ".notice.error"), /このサイトから送信されたものではありません/);
	ok("login form with a forged CSRF token: 403 page");
	await page.goto(`${BASE}/login`);
	await page.fill("#login", "olivia");
	await page.fill("#password", OFFICER_PW);
	await Promise.all([page.waitForURL(/\/ui$/), page.click("button.primary")]);
	assert.match(await text(page, "h1"), /ダッシュボード/);
	assert.match(await text(page, ".counter.big .label"), /契約数/);
	await shot(page, "02-dashboard-ja");
	ok("login: the dashboard shows the counters");

	// ---- a user, a device, one certificate ----
	await page.click("text=利用者");
	await page.click("details summary");
	await page.fill("input[name=external_id]", "e1001");
	await page.fill("input[name=email]", "taro@example.jp");
	await page.fill("input[name=display_name]", "山田 太郎 <b>bold</b>");
	await Promise.all([page.waitForURL(/\/ui\/users\/\d+$/), page.click("form.stack button.primary")]);
	assert.equal(await text(page, "dl.facts dd:nth-of-type(2)"), "山田 太郎 <b>bold</b>");
	const userUrl = page.url();
	await page.click("details summary");
	await page.fill("input[name=name]", "laptop");
	await page.fill("input[name=model]", "ThinkPad X1");
	await Promise.all([page.waitForURL(/\/ui\/devices\/\d+$/), page.click("form.stack button.primary")]);
	await page.fill("input[name=cn]", "taro-laptop");
	await page.fill("input[name=days]", "30");
	await page.click("form.card button.primary");
	assert.match(await text(page, "h1"), /証明書を発行しました/);
	const dlLogin = await text(page, "dl.credential dd:nth-of-type(3)");
	const dlSecret = await text(page, "#secret");
	assert.match(dlLogin, /^dl-[0-9A-Z]{8}$/);
	assert.match(dlSecret, /^[0-9A-Z]{12}$/);
	await shot(page, "03-issued-credential");
	ok(`issue one: credential ${dlLogin} shown once`);

	// a second device whose certificate's common name is markup: shown as text, never run
	await page.goto(userUrl);
	await page.click("details summary");
	await page.fill("input[name=name]", "xss");
	await Promise.all([page.waitForURL(/\/ui\/devices\/\d+$/), page.click("form.stack button.primary")]);
	const evil = "<script>alert(1)</script>";
	await page.fill("input[name=cn]", evil);
	await page.click("form.card button.primary");
	assert.equal(await text(page, "dl.credential dd:nth-of-type(1)"), evil);
	await page.goto(`${BASE}/ui/certs?cn=${encodeURIComponent("script")}`);
	assert.equal(await text(page, "td.cn a"), evil);
	assert.equal(await page.locator("td.cn script").count(), 0, "no script element in the cell");
	assert.ok((await page.content()).includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert.equal(await page.inputValue("input[name=cn]"), "script");
	assert.deepEqual(dialogs, [], "no script ran");
	await shot(page, "04-certs-escaped");
	ok("a common name <script>alert(1)</script> is shown as text and never runs");

	// ---- the end user downloads a .p12 (another browser, no officer cookie) ----
	const { ctx: uctx, page: up } = await newPage("ja-JP");
	await up.goto(`${BASE}/download`);
	await shot(up, "05-download-login");
	await up.fill("#login", dlLogin);
	await up.fill("#secret", "WRONGWRONG99");
	await up.click("button.primary");
	assert.equal(await up.getAttribute(".refused", "data-outcome"), "dl.bad");
	ok("download: a wrong password gives the 'wrong credentials' page");
	await up.fill("#login", dlLogin);
	await up.fill("#secret", dlSecret);
	await up.click("button.primary");
	assert.match(await text(up, "h1"), /パスワードとデバイスの選択/);
	assert.match(await text(up, "#policy"), /10～64 文字/);
	const p12pw = "Xy7!pass-word";
	await up.fill("#password", "short");
	await up.fill("#password2", "short");
	await up.selectOption("#device", "windows");
	await up.click("button.primary");
	assert.match(await text(up, ".notice.error"), /短すぎます/);
	ok("download: a weak p12 password is refused with the rule in Japanese");
	await up.fill("#password", p12pw);
	assert.equal(await up.getAttribute("#strength-label", "data-strong") !== null, true);
	await up.fill("#password2", p12pw);
	await up.selectOption("#device", "windows");
	await shot(up, "06-download-choose");
	const [download] = await Promise.all([up.waitForEvent("download"), up.click("button.primary")]);
	assert.equal(download.suggestedFilename(), "taro-laptop.p12");
	const p12 = `${TMP}/ui-taro.p12`;
	await download.saveAs(p12);
	writeFileSync(`${TMP}/ui-p12pw`, p12pw);
	const certs = execFileSync("openssl", ["pkcs12", "-in", p12, "-passin", `file:${TMP}/ui-p12pw`,
		"-nokeys"], { encoding: "utf8" });
	assert.match(certs, /subject=.*CN ?= ?taro-laptop/);
	execFileSync("openssl", ["pkcs12", "-in", p12, "-passin", `file:${TMP}/ui-p12pw`, "-nocerts",
		"-nodes", "-out", `${TMP}/ui-key.pem`]);
	ok("download: the .p12 opens with openssl pkcs12 -passin file: (certificate and key)");
	await up.goto(`${BASE}/download`);
	await up.fill("#login", dlLogin);
	await up.fill("#secret", dlSecret);
	await up.click("button.primary");
	assert.equal(await up.getAttribute(".refused", "data-outcome"), "dl.used");
	assert.match(await text(up, ".notice.error"), /すでに使用済み/);
	await shot(up, "07-download-spent");
	ok("download: the spent credential gives the 'already used' page");
	await uctx.close();

	// ---- language switch: English sticks across pages, then back to Japanese ----
	await page.goto(`${BASE}/ui/certs`);
	await Promise.all([page.waitForNavigation(), page.click("form.lang button[value=en]")]);
	assert.match(page.url(), /\/ui\/certs$/);
	assert.equal(await page.getAttribute("html", "lang"), "en");
	assert.equal(await text(page, "h1"), "Certificates");
	await page.click("header nav >> text=Dashboard");
	assert.equal(await text(page, "h1"), "Dashboard");
	ok("language switch: English, and it sticks on the next page");

	// ---- revoke selected (English pages) ----
	await page.goto(`${BASE}/ui/certs?filter=valid`);
	await shot(page, "08-certs-en");
	const row = page.locator("tr", { hasText: "taro-laptop" });
	await row.locator("input.pick").check();
	await page.selectOption("select[name=reason]", "keyCompromise");
	await Promise.all([page.waitForNavigation(), page.click("button[value=revoke]")]);
	assert.match(await text(page, ".notice.ok"), /Revocation requested for 1 certificates/);
	for (let i = 0; i < 50; i++) {
		await page.goto(`${BASE}/ui/certs?filter=revoked`);
		if (await page.locator("td.cn", { hasText: "taro-laptop" }).count() > 0) break;
		await page.waitForTimeout(200);
	}
	assert.equal(await page.locator("td.cn", { hasText: "taro-laptop" }).count(), 1);
	ok("revoke selected: the certificate is revoked (shown under the 'revoked' filter)");
	// select all on this page, and sorting by a column
	await page.goto(`${BASE}/ui/certs?filter=all`);
	await page.check("#pick-all");
	const picks = await page.locator("input.pick").count();
	assert.equal(await page.locator("input.pick:checked").count(), picks);
	await page.click("th a.sort >> text=Common name");
	assert.equal(await page.getAttribute("th[aria-sort]", "aria-sort"), "ascending");
	ok(`select all on this page checks all ${picks}; the common-name column sorts`);

	// ---- bulk TSV with a bad row: abort mode refuses the file, valid mode registers 2 ----
	const tsv = "user\temail\tdevice\tcommon_name\n" +
		"b2001\tb2001@example.jp\tpc\tbulk-one\n" +
		"b2002\tnot-an-email\tpc\tbulk-bad\n" +
		"b2003\tb2003@example.jp\tpc\tbulk-two\n";
	await page.goto(`${BASE}/ui/bulk`);
	await page.setInputFiles("input[name=file]", { name: "users.tsv", mimeType: "text/tab-separated-values",
		buffer: Buffer.from(tsv) });
	await page.check("input[name=mode][value=abort]");
	await page.click("form.card button.primary");
	assert.match(await text(page, ".notice.error"), /whole file would be refused/);
	assert.equal(await page.locator("table.errors tr.bad").count(), 1);
	assert.equal(await text(page, "table.errors tr.bad td"), "3");
	assert.equal(await page.locator("form.confirm").count(), 0, "no confirm for a refused file");
	await shot(page, "09-bulk-abort-preview");
	ok("bulk, abort mode: the bad row 3 is highlighted and the file cannot be confirmed");
	await page.goto(`${BASE}/ui/bulk`);
	await page.fill("textarea[name=text]", tsv);
	await page.check("input[name=mode][value=valid]");
	await page.click("form.card button.primary");
	assert.match(await text(page, ".notice"), /3 rows read: 2 would be registered; 1 errors/);
	assert.equal(await page.locator("table.results tbody tr").count(), 2);
	await shot(page, "10-bulk-valid-preview");
	const dry = await (await page.request.get(`${BASE}/ui/certs?cn=bulk-`)).text();
	assert.ok(!dry.includes("bulk-one"), "the dry run stored nothing");
	await Promise.all([page.waitForNavigation(), page.click("form.confirm button.primary")]);
	assert.match(await text(page, ".notice.ok"), /3 rows read: 2 registered; 1 errors/);
	assert.equal(await page.locator("table.results tbody tr").count(), 2);
	assert.match(await text(page, "table.results td.secret"), /^[0-9A-Z]{12}$/);
	await shot(page, "11-bulk-valid-result");
	await page.goto(`${BASE}/ui/certs?cn=bulk-&sort=cn&order=asc`);
	const cns = await page.locator("td.cn").allTextContents();
	assert.deepEqual(cns.map((s) => s.trim()), ["bulk-one", "bulk-two"]);
	ok("bulk, valid-rows mode: preview, then confirm registers the 2 good rows only");

	// ---- keyset pages: next and previous keep the order (2 and 3 a page here) ----
	const cnsOf = async () => (await page.locator("td.cn").allTextContents()).map((s) => s.trim());
	await page.goto(`${BASE}/ui/certs?sort=cn&order=asc&limit=2`);
	assert.deepEqual(await cnsOf(), [evil, "bulk-one"]);
	assert.equal(await page.locator("a[rel=prev]").count(), 0);
	await page.click("a[rel=next]");
	assert.deepEqual(await cnsOf(), ["bulk-two", "taro-laptop"]);
	assert.equal(await page.locator("a[rel=next]").count(), 0);
	await page.click("a[rel=prev]");
	assert.deepEqual(await cnsOf(), [evil, "bulk-one"]);
	assert.equal(await page.locator("a[rel=prev]").count(), 0);
	await page.goto(`${BASE}/ui/certs?sort=cn&order=desc&limit=3`);
	assert.deepEqual(await cnsOf(), ["taro-laptop", "bulk-two", "bulk-one"]);
	await page.click("a[rel=next]");
	assert.deepEqual(await cnsOf(), [evil]);
	await page.click("a[rel=prev]");
	assert.deepEqual(await cnsOf(), ["taro-laptop", "bulk-two", "bulk-one"]);
	assert.equal(await page.locator("a[rel=prev]").count(), 0);
	ok("certificate pages: next / previous by keyset, both sort orders");

	// ---- history: search, chain check, CSV ----
	await page.goto(`${BASE}/ui/history`);
	await page.selectOption("select[name=op]", "revoke_requested");
	await page.click("form.search button");
	const ops = await page.locator("table.history tbody tr").count();
	assert.equal(ops, 1, "one revocation request in the history");
	assert.match(await text(page, "table.history tbody td:nth-child(6)"), /keyCompromise/);
	await page.goto(`${BASE}/ui/history?q=${dlLogin}`);
	const hits = await page.locator("table.history tbody tr").allTextContents();
	assert.ok(hits.some((t) => t.includes("Downloaded") || t.includes("downloaded")), "download in the history");
	await page.click("text=Verify the chain");
	assert.match(await text(page, ".notice.ok"), /hash chain is intact/);
	await shot(page, "12-history");
	const csv = await page.request.get(`${BASE}/api/v1/history.csv?op=revoke_requested`);
	assert.equal(csv.status(), 200);
	assert.match(await csv.text(), /^id,time,actor,ip,operation,target,detail,hash\r\n/);
	ok("history: filter by operation and text, chain verified, CSV export");

	// ---- CSRF: every form route refuses a missing or a wrong token ----
	// (/ui/settings is for administrators: test_ui_officer.sh checks its token)
	const forms = ["/login", "/login/certificate", "/logout", "/lang", "/ui/users",
		"/ui/users/1/devices", "/ui/devices/1/issue", "/ui/certs/change", "/ui/bulk",
		"/ui/account", "/ui/batches", "/ui/batches/1/abort", "/ui/batches/1/download",
		"/download", "/download/file", "/download/renew/ask", "/download/renew/file",
		"/download/renew/switch"];
	for (const path of forms) {
		for (const csrf of [null, "forged-token"]) {
			const form = { lang: "en", back: "/ui", login: "x", secret: "y", external_id: "csrf-x",
				name: "csrf-x", cn: "csrf-x", action: "revoke", reason: "unspecified", id: "1",
				kind: "issue", mode: "abort", step: "preview", text: "user\n" };
			if (csrf) form.csrf = csrf;
			const r = await page.request.post(`${BASE}${path}`, { form, maxRedirects: 0 });
			assert.equal(r.status(), 403, `${path} with csrf=${csrf}: ${r.status()}`);
			assert.match(await r.text(), /did not come from this site/);
		}
	}
	const stillMine = await page.request.get(`${BASE}/ui/users`);
	assert.ok(!(await stillMine.text()).includes("csrf-x"), "no refused form stored anything");
	ok(`CSRF: all ${forms.length} form routes refuse a missing and a wrong token (403), nothing stored`);

	// back to Japanese; it sticks
	await page.goto(`${BASE}/ui/history`);
	await Promise.all([page.waitForNavigation(), page.click("form.lang button[value=ja]")]);
	assert.equal(await text(page, "h1"), "操作履歴");
	await page.goto(`${BASE}/ui/certs`);
	assert.equal(await text(page, "h1"), "証明書");
	await shot(page, "13-certs-ja");
	ok("language switch back to Japanese sticks");
	await octx.close();
	console.log(`${passed} passed, 0 failed`);
} catch (e) {
	console.error(`FAIL after ${passed} steps: ${e.stack || e}`);
	console.log(`${passed} passed, 1 failed`);
	process.exitCode = 1;
} finally {
	await browser.close();
}
