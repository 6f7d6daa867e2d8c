// The end user's pages in Debian's headless Chromium (playwright-core), against the real
// daemons that tests/integration/test_download_browser.sh starts: the first download for an
// iPhone as a configuration profile (.mobileconfig), and the users' own renewal — ask, the
// link from the mail, the renewed .p12, the switch.  Environment: BASE, TMP, SHOTS, SINK
// (the mail folder), INKAN_SRC, IOS_LOGIN / IOS_SECRET (a download credential),
// RENEW_USER / RENEW_EMAIL (a user whose certificate may be renewed now).  Each step prints
// "ok - ..."; the first failure exits non-zero.
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { writeFileSync, mkdirSync, readdirSync, readFileSync, existsSync } from "node:fs";
import assert from "node:assert/strict";

const { BASE, TMP, SHOTS, SINK, INKAN_SRC } = process.env;
mkdirSync(SHOTS, { recursive: true });
let passed = 0;
const ok = (what) => { passed++; console.log(`ok - ${what}`); };
const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
const text = async (page, sel) => (await page.locator(sel).first().textContent()).trim();
const outcome = (page) => page.getAttribute("[data-outcome]", "data-outcome");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The text of the first renewal_ready mail to rcpt (mail_show.py decodes the S/MIME body).
async function renewalMail(rcpt) {
	for (let i = 0; i < 200; i++) {
		const files = existsSync(SINK) ? readdirSync(SINK).filter((f) => f.endsWith(".eml")) : [];
		for (const f of files) {
			const eml = readFileSync(`${SINK}/${f}`, "utf8");
			const to = readFileSync(`${SINK}/${f.replace(/\.eml$/, ".rcpt")}`, "utf8");
			if (/^X-Inkan-Notice: renewal_ready\r?$/m.test(eml) && to.split("\n").includes(rcpt)) {
				return JSON.parse(execFileSync("python3",
					[`${INKAN_SRC}/tests/integration/mail_show.py`, `${SINK}/${f}`], { encoding: "utf8" })).text;
			}
		}
		await sleep(100);
	}
	throw new Error(`no renewal_ready mail to ${rcpt}`);
}

// A .p12 file opened by openssl with password: the subject line(s) of its certificate.
function openP12(path, password) {
	writeFileSync(`${TMP}/browser-pw`, password);
	return execFileSync("openssl", ["pkcs12", "-in", path, "-passin", `file:${TMP}/browser-pw`,
		"-nokeys", "-clcerts"], { encoding: "utf8" });
}

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
	args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const dialogs = [];
async function newPage(locale) {
	const ctx = await browser.newContext({ ignoreHTTPSErrors: true, locale, acceptDownloads: true,
		viewport: { width: 1100, height: 900 } });
	const page = await ctx.newPage();
	page.on("dialog", async (d) => { dialogs.push(d.message()); await d.dismiss(); });
	return { ctx, page };
}

try {
	// ---- the first download for an iPhone: the configuration profile (English) ----
	const { ctx: ictx, page: ip } = await newPage("en-US");
	await ip.goto(`${BASE}/download`);
	await ip.fill("#login", process.env.IOS_LOGIN);
	await ip.fill("#secret", process.env.IOS_SECRET);
	await ip.click("button.primary");
	assert.equal(await text(ip, "h1"), "Choose a password and your device");
	await ip.selectOption("#device", "windows");
	assert.equal(await ip.isVisible("#ios-file"), false, "the iPhone file choice is hidden for Windows");
	await ip.selectOption("#device", "ios");
	assert.equal(await ip.isVisible("#ios-file"), true, "the iPhone file choice shows for iOS");
	assert.equal(await ip.isChecked("input[name=file][value=mobileconfig]"), true, "profile is the default");
	assert.equal(await ip.getAttribute("details[data-platform=ios]", "open"), "", "iOS install steps opened");
	assert.match(await text(ip, "details[data-platform=ios]"), /Profile Downloaded/);
	const pw = "Ip7!hone-Pass";
	await ip.fill("#password", pw);
	assert.ok(await ip.evaluate(() => document.getElementById("strength").value) >= 3, "strength hint");
	assert.notEqual(await text(ip, "#strength-label"), "");
	await ip.fill("#password2", pw);
	await shot(ip, "20-download-ios-choose");
	const [mc] = await Promise.all([ip.waitForEvent("download"), ip.click("#p12form button.primary")]);
	assert.match(mc.suggestedFilename(), /^hanako-iphone\.mobileconfig$/);
	const mcPath = `${TMP}/browser.mobileconfig`;
	await mc.saveAs(mcPath);
	// signed by the RA's TLS certificate: openssl verifies it and gives the plist back
	execFileSync("openssl", ["cms", "-verify", "-inform", "DER", "-in", mcPath, "-CAfile",
		`${TMP}/tls.pem`, "-out", `${mcPath}.plist`], { stdio: ["ignore", "ignore", "pipe"] });
	const info = execFileSync("python3", ["-c", `
import plistlib, sys
d = plistlib.load(open(sys.argv[1], "rb"))
pc = d["PayloadContent"]
assert [p["PayloadType"] for p in pc] == ["com.apple.security.pkcs12", "com.apple.security.root"]
assert len({d["PayloadUUID"], pc[0]["PayloadUUID"], pc[1]["PayloadUUID"]}) == 3
assert all("Password" not in p for p in pc)
open(sys.argv[2], "wb").write(pc[0]["PayloadContent"])
assert pc[1]["PayloadContent"] == open(sys.argv[3], "rb").read(), "root payload"
print(d["PayloadDisplayName"])
`, `${mcPath}.plist`, `${TMP}/browser-ios.p12`, `${TMP}/root.der`], { encoding: "utf8" }).trim();
	assert.equal(info, "Client certificate hanako-iphone");
	assert.match(openP12(`${TMP}/browser-ios.p12`, pw), /subject=.*CN ?= ?hanako-iphone/);
	ok("iPhone: the .mobileconfig downloads in the browser, signed (openssl cms -verify with the RA's CA); plistlib finds the pkcs12 and root payloads; its PKCS#12 opens with the chosen password");
	await ictx.close();

	// ---- the users' own renewal (Japanese) ----
	const { ctx: rctx, page: rp } = await newPage("ja-JP");
	await rp.goto(`${BASE}/download/renew`);
	assert.equal(await text(rp, "h1"), "証明書の更新");
	assert.match(await text(rp, "p.window"), /更新期間は .* まで/);
	await shot(rp, "21-renew-ask-ja");
	const rpw = "Renew-Me-2027!";
	await rp.fill("#user", process.env.RENEW_USER);
	await rp.fill("#email", process.env.RENEW_EMAIL);
	await rp.fill("#password", "short");
	await rp.fill("#password2", "short");
	await rp.click("#askform button.primary");
	assert.equal(await outcome(rp), "pw.password-too-short");
	assert.equal(await rp.inputValue("#email"), process.env.RENEW_EMAIL, "the address is kept");
	await rp.fill("#password", rpw);
	await rp.fill("#password2", rpw);
	await rp.click("#askform button.primary");
	assert.equal(await outcome(rp), "renew.sent");
	assert.match(await text(rp, ".notice"), /受け付けました/);
	await shot(rp, "22-renew-sent-ja");
	ok("renewal: the ask page (window dates, policy) refuses a weak password, then sends the link");

	const mail = await renewalMail(process.env.RENEW_EMAIL);
	const link = mail.match(/https:\/\/\S+\/download\/renew\?id=rn-[A-Z0-9]+/);
	assert.ok(link, `a renewal link in the mail: ${mail}`);
	await rp.goto(link[0]);
	await shot(rp, "23-renew-link-ja");
	await rp.fill("#secret", "Wrong-Pass-123");
	await rp.selectOption("#device", "linux");
	await rp.click("#renewform button.primary");
	assert.equal(await outcome(rp), "renew.bad");
	assert.match(await text(rp, ".notice.error"), /パスワードが違う/);
	ok("renewal: the link's page refuses a wrong password with a clear message");
	await rp.fill("#secret", rpw);
	await rp.selectOption("#device", "linux");
	const [p12] = await Promise.all([rp.waitForEvent("download"), rp.click("#renewform button.primary")]);
	assert.equal(p12.suggestedFilename(), "taro-laptop.p12");
	await p12.saveAs(`${TMP}/browser-renewed.p12`);
	assert.match(openP12(`${TMP}/browser-renewed.p12`, rpw), /subject=.*CN ?= ?taro-laptop/);
	ok("renewal: the renewed .p12 downloads and opens with the password chosen when asking");

	await rp.fill("#sw-secret", rpw);
	await shot(rp, "24-renew-switch-ja");
	await rp.click("#switchform button[value=switch]");
	assert.equal(await outcome(rp), "renew.switched");
	assert.match(await text(rp, ".notice"), /切り替わりました/);
	await shot(rp, "25-renew-switched-ja");
	await rp.goto(link[0]);
	await rp.fill("#secret", rpw);
	await rp.click("#renewform button.primary");
	assert.equal(await outcome(rp), "renew.used");
	await shot(rp, "26-renew-used-ja");
	ok("renewal: switch confirmed on the page; the spent link says it was already downloaded");
	assert.deepEqual(dialogs, [], "no dialog opened");
	await rctx.close();
	console.log(`${passed} passed, 0 failed`);
} catch (e) {
	console.error(`FAIL after ${passed} steps: ${e.stack || e}`);
	console.log(`${passed} passed, 1 failed`);
	process.exitCode = 1;
} finally {
	await browser.close();
}
