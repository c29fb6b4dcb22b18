// Guard against double submission: a form posts once until the page changes.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.submitted === "1") { event.preventDefault(); return; }
  form.dataset.submitted = "1";
  for (const b of form.querySelectorAll("button[type=submit]")) b.setAttribute("aria-busy", "true");
});
