// The questionnaire designer: drag a card by its handle to reorder (HTML5 drag and drop), then the form is
// posted with the cards in their new order; a changed question kind posts at once (its fields differ).
// Event delegation, so the listeners outlive htmx replacing the form.
(function () {
  "use strict";
  let dragged = null;
  let orderBefore = "";
  const order = (list) => Array.from(list.querySelectorAll(".question-card")).map((c) => c.dataset.code).join(",");
  document.addEventListener("dragstart", (event) => {
    const handle = event.target instanceof Element ? event.target.closest(".drag-handle") : null;
    if (!handle) return;
    dragged = handle.closest(".question-card");
    orderBefore = order(dragged.parentNode);
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.code);
    event.dataTransfer.setDragImage(dragged, 10, 10);
    dragged.classList.add("dragging");
  });
  document.addEventListener("dragover", (event) => {
    if (!dragged) return;
    const card = event.target instanceof Element ? event.target.closest(".question-card") : null;
    if (!card || card.parentNode !== dragged.parentNode) return;
    event.preventDefault();
    if (card === dragged) return;
    const box = card.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    card.parentNode.insertBefore(dragged, after ? card.nextSibling : card);
  });
  document.addEventListener("drop", (event) => { if (dragged) event.preventDefault(); });
  document.addEventListener("dragend", () => {
    if (!dragged) return;
    const form = dragged.closest("form");
    dragged.classList.remove("dragging");
    const changed = order(dragged.parentNode) !== orderBefore;
    dragged = null;
    if (changed && form) form.requestSubmit();
  });
  // A refused save or publish answers 422 with the cards and their messages: show it (htmx skips 4xx).
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr.status === 422 && event.target.id === "designer-form") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-kind") && target.form) {
      target.form.requestSubmit();
    }
  });
})();
