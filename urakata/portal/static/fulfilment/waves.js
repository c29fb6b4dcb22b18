// Wave pages: a form marked data-once sends once (its buttons are disabled on the first
// submit; the server also finds a repeated form by its one-time key), and "choose all".
(() => {
  for (const form of document.querySelectorAll("form[data-once]")) {
    form.addEventListener("submit", (event) => {
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      setTimeout(() => {
        for (const b of form.querySelectorAll("button[type=submit]")) b.disabled = true;
      }, 0);
    });
  }
  const all = document.querySelector("[data-check-all]");
  if (all) {
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll("input[name=shipment]")) box.checked = all.checked;
    });
  }
})();
