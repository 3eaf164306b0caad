// Tell the server which time zone to show times in (stored times are UTC).
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + zone) === -1) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) { /* an old browser keeps UTC */ }
  // Ask before a destructive or stage-changing form is sent. The message may name what
  // was picked: {to} (the target stage), {owner}, {action} and {count} (the selected
  // leads); data-confirm-<action> is the message for one action of the form's picker.
  function picked(form, name) {
    var field = form.elements[name];
    if (!field || !field.options || field.selectedIndex < 0) { return ""; }
    var option = field.options[field.selectedIndex];
    return option.getAttribute("data-label") || option.text;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var action = form.elements.action && form.elements.action.value;
    var message = (action && form.getAttribute("data-confirm-" + action)) || form.getAttribute("data-confirm");
    if (!message) { return; }
    var count = document.querySelectorAll('input[name="leads"]:checked').length;
    message = message
      .replace("{to}", picked(form, "to"))
      .replace("{owner}", picked(form, "owner"))
      .replace("{action}", picked(form, "action"))
      .replace("{count}", String(count));
    if (!window.confirm(message)) { event.preventDefault(); }
  });
})();
