// Det Fælles Designsystem's behaviour, where Intro uses it: an error summary takes the
// focus when the page opens, and its links move the focus to the field (and scroll its
// label into view). Only these components are started; everything works without it.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.DKFDS) return;
  document.querySelectorAll('[data-module="error-summary"]').forEach(function (element) {
    new window.DKFDS.ErrorSummary(element).init();
  });
});
