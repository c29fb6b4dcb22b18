// The scan station: a USB scanner types the code and presses Enter, like typing by hand.
// Each scan is posted (with a fresh key, so a resent one counts once) and answered with a
// message, a colour and a sound. A lot-tracked item asks for its lot: the next scan is it.
(() => {
  const form = document.querySelector("[data-scan-form]");
  if (!form) return;
  const input = form.querySelector("[data-scan-input]");
  const lot = form.querySelector("[data-scan-lot]");
  const label = form.querySelector("[data-scan-label]");
  const key = form.querySelector("input[name=scan_key]");
  const shipment = form.querySelector("input[name=shipment]");
  const box = document.querySelector("[data-testid=scan-message]");
  let pendingCode = null; // an item waiting for its lot
  let busy = false;

  const newKey = () =>
    (window.crypto && crypto.randomUUID) ? crypto.randomUUID().replace(/-/g, "")
      : Date.now().toString(36) + Math.random().toString(36).slice(2);

  function show(text, kind, outcome) {
    box.textContent = text;
    box.className = "scan-message is-" + kind;
    box.dataset.outcome = outcome;
  }

  function askLot(sku) {
    label.textContent = input.dataset.lotLabel.replace("{sku}", sku || "");
  }

  function resetLabel() {
    label.textContent = input.dataset.codeLabel;
  }

  function update(body) {
    for (const line of body.lines || []) {
      const row = document.querySelector(`[data-line="${line.id}"]`);
      if (!row) continue;
      row.querySelector("[data-line-scanned]").textContent = line.scanned;
      row.classList.toggle("line-done", line.scanned === line.quantity);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const typed = input.value.trim();
    if (!typed || busy) return;
    if (pendingCode) {
      lot.value = typed;
      input.value = pendingCode;
    } else {
      lot.value = "";
    }
    key.value = newKey();
    const data = new FormData(form);
    input.value = "";
    busy = true;
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then((r) => r.json().then((body) => ({ status: r.status, body })))
      .then(({ body }) => {
        window.urakataSound(body.sound);
        const kind = body.refused ? "error" : (body.sound === "attention" ? "attention" : "ok");
        show(body.message, kind, body.outcome);
        if (body.outcome === "lot_needed") {
          pendingCode = data.get("code");
          askLot(pendingCode);
        } else {
          pendingCode = null;
          resetLabel();
        }
        update(body);
        if (body.select_url) window.location.assign(body.select_url);
        else if (body.next_url) setTimeout(() => window.location.assign(body.next_url), 1500);
      })
      .catch(() => {
        window.urakataSound("error");
        show(form.dataset.offline || "!", "error", "network");
      })
      .finally(() => {
        busy = false;
        // app.js marks a sent form as sent (against double posts); this one stays open.
        delete form.dataset.submitted;
        for (const b of form.querySelectorAll("[aria-busy]")) b.removeAttribute("aria-busy");
        input.focus();
      });
  });

  // Keep the focus on the input: the scanner types wherever the focus is.
  document.addEventListener("click", (event) => {
    if (!event.target.closest("a, button, input, select, textarea, label")) input.focus();
  });
  for (const f of document.querySelectorAll("form[data-confirm]")) {
    f.addEventListener("submit", (event) => {
      if (!window.confirm(f.dataset.confirm)) event.preventDefault();
    });
  }
  if (shipment && !shipment.value) resetLabel();
})();
