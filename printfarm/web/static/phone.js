// A printer's own page on a phone: the rejects stepper (the rest are good) and the quick fault reasons.
// The forms post as plain forms; without this script the number field and the text area still work.
"use strict";
const rejects = document.getElementById("rejects-form");
if (rejects) {
  const units = Number(rejects.dataset.units);
  const field = rejects.elements.rejected_units;
  const good = document.getElementById("good-units");
  const show = (value) => {
    const rejected = Math.min(units, Math.max(0, Math.round(Number(value)) || 0));
    field.value = rejected;
    good.textContent = units - rejected;
  };
  rejects.addEventListener("click", (event) => {
    const step = event.target.closest("button.step");
    if (step) show(Number(field.value) + Number(step.dataset.step));
  });
  field.addEventListener("change", () => show(field.value));
}
const reason = document.getElementById("fault-reason-text");
document.querySelectorAll("button.choice").forEach((choice) => {
  choice.addEventListener("click", () => { reason.value = choice.dataset.reason; reason.focus(); });
});
