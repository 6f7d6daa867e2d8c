// Inkan batches: moves the progress bar of a running batch (.batch-live[data-state=running])
// by polling GET /api/v1/batches/{id} with the officer's session; when the batch has stopped
// running and nothing of it is pending, the page reloads to show what comes next (the ZIP
// download, the dashboard's counters).  Without JavaScript the page refreshes itself.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
	var POLL_MS = 700;
	document.querySelectorAll(".batch-live[data-state=running]").forEach(function (el) {
		var id = el.getAttribute("data-batch");
		var bar = el.querySelector(".batch-bar");
		var count = el.querySelector(".batch-count");
		var pct = el.querySelector(".batch-pct");
		var tick = function () {
			fetch("/api/v1/batches/" + encodeURIComponent(id), {
				credentials: "same-origin", headers: { "Accept": "application/json" }
			}).then(function (r) {
				if (!r.ok) throw new Error("HTTP " + r.status);
				return r.json();
			}).then(function (b) {
				var total = b.total > 0 ? b.total : 1;
				var settled = b.done + b.failed;
				bar.max = total;
				bar.value = settled;
				count.textContent = settled + " / " + b.total;
				pct.textContent = Math.min(100, Math.floor(settled * 100 / total)) + " %";
				el.setAttribute("data-settled", String(settled));
				if (b.state !== "running" && b.pending === 0) {
					el.setAttribute("data-state", b.state);
					window.location.reload();
					return;
				}
				window.setTimeout(tick, POLL_MS);
			}).catch(function () {
				// the session ended or the server is away: the reload link still works
				el.setAttribute("data-poll", "stopped");
			});
		};
		window.setTimeout(tick, POLL_MS);
	});
});
