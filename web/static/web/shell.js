/* The page shell: behaviour that would otherwise be inline handlers (the Content-Security-Policy allows none). */
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field && field.hasAttribute && field.hasAttribute("data-submit-on-change") && field.form) {
    field.form.submit();
  }
});
