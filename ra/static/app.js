// Inkan web pages: a little plain JavaScript.  Everything works without it; it adds
// "select all on this page", confirmation of destructive buttons, a password strength
// hint, and opens the install steps of the chosen device (and shows the iPhone/iPad file
// choice only for those).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
	var all = document.getElementById("pick-all");
	if (all) {
		all.addEventListener("change", function () {
			document.querySelectorAll("input.pick").forEach(function (c) {
				c.checked = all.checked;
			});
		});
	}
	document.querySelectorAll("button[data-confirm]").forEach(function (b) {
		b.addEventListener("click", function (ev) {
			if (!window.confirm(b.getAttribute("data-confirm"))) ev.preventDefault();
		});
	});
	var pw = document.getElementById("password");
	var meter = document.getElementById("strength");
	var label = document.getElementById("strength-label");
	var policy = document.getElementById("policy");
	if (pw && meter && label && policy) {
		var min = parseInt(policy.getAttribute("data-min"), 10) || 10;
		var need = parseInt(policy.getAttribute("data-classes"), 10) || 3;
		pw.addEventListener("input", function () {
			var v = pw.value, k = 0;
			if (/[a-z]/.test(v)) k++;
			if (/[A-Z]/.test(v)) k++;
			if (/[0-9]/.test(v)) k++;
			if (/[^A-Za-z0-9]/.test(v)) k++;
			var score = v.length < min || k < need ? 1 : v.length >= min + 6 && k === 4 ? 4 : 3;
			if (v.length === 0) score = 0;
			meter.value = score;
			label.textContent = score === 0 ? "" : label.getAttribute(
				score < 3 ? "data-weak" : score < 4 ? "data-ok" : "data-strong");
		});
	}
	var device = document.getElementById("device");
	if (device) {
		var open = function () {
			var d = device.value.replace("-legacy", "").replace("ipados", "ios");
			document.querySelectorAll(".install details").forEach(function (x) {
				x.open = x.getAttribute("data-platform") === d;
			});
		};
		device.addEventListener("change", open);
		open();
		// iPhone/iPad: the choice of configuration profile or .p12 only for those devices
		var iosFile = document.getElementById("ios-file");
		if (iosFile) {
			var show = function () {
				var for_ = (iosFile.getAttribute("data-devices") || "").split(" ");
				iosFile.hidden = for_.indexOf(device.value) < 0;
			};
			device.addEventListener("change", show);
			show();
		}
	}
});
