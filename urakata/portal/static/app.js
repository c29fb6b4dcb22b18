// Guard against double submission: a form posts once until the page changes.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.submitted === "1") { event.preventDefault(); return; }
  form.dataset.submitted = "1";
  for (const b of form.querySelectorAll("button[type=submit]")) b.setAttribute("aria-busy", "true");
});

// Header menus (<details class="dropdown">): one open at a time; a click elsewhere or Escape
// closes them, and Escape gives the focus back to the menu's button.
(() => {
  const menus = () => document.querySelectorAll("header details.dropdown[open]");
  document.addEventListener("click", (event) => {
    for (const d of menus()) if (!d.contains(event.target)) d.removeAttribute("open");
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    for (const d of menus()) {
      d.removeAttribute("open");
      if (d.contains(document.activeElement)) d.querySelector("summary").focus();
    }
  });
})();
