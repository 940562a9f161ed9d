/* Upload progress for the tip form.

   Without this script the form is an ordinary multipart POST and works the same way;
   with it, the form is sent with XMLHttpRequest so the tipster can see how much has
   been sent: a <progress> bar and "X MB of Y MB (N%)", with numbers formatted for the
   page's language and region (<html lang>: "es-MX" writes "1.5 MB", as Mexico does). Every word comes from data-* attributes on the form,
   rendered by the template through gettext, so this file holds no text of its own.
   When the answer arrives (receipt, form with errors, any error page) it replaces the
   page, as a normal submission would. If the connection fails, the tipster is told
   that nothing may have been received and can send again: the form is left as it was.

   The page's Content-Security-Policy allows scripts from this site only; this file
   must stay free of inline handlers, eval and third-party code. */
(function () {
  "use strict";

  var form = document.querySelector("form[data-progress-of]");
  if (!form || !window.FormData || !window.XMLHttpRequest || !window.Intl) {
    return;
  }
  if (!("upload" in new XMLHttpRequest())) {
    return;
  }

  var lang = document.documentElement.lang || undefined;
  var megabytes = numberFormat({
    style: "unit",
    unit: "megabyte",
    unitDisplay: "short",
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
  });
  var percent = numberFormat({ style: "percent", maximumFractionDigits: 0 });
  var button = form.querySelector("button[type=submit], input[type=submit]");
  var sending = false;
  var panel = null;

  function numberFormat(options) {
    try {
      return new Intl.NumberFormat(lang, options);
    } catch (e) {
      // An old browser without unit formatting: plain numbers, the unit from the words.
      return new Intl.NumberFormat(lang, {
        minimumFractionDigits: options.minimumFractionDigits,
        maximumFractionDigits: options.maximumFractionDigits,
      });
    }
  }

  function words(name) {
    return form.getAttribute("data-progress-" + name) || "";
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  /* The progress panel, made when a submission starts and removed when it fails. */
  function makePanel() {
    var box = element("div", "upload-progress");
    var label = element("p", "upload-progress-label", words("label"));
    label.id = "upload-progress-label";
    var bar = element("progress");
    bar.max = 1;
    bar.value = 0;
    bar.setAttribute("aria-labelledby", "upload-progress-label");
    var amount = element("p", "upload-progress-amount");
    // Announced politely: a start, the "now waiting" step; not every byte.
    var status = element("p", "upload-progress-status");
    status.setAttribute("role", "status");
    box.appendChild(label);
    box.appendChild(bar);
    box.appendChild(amount);
    box.appendChild(status);
    (button || form.lastChild).insertAdjacentElement("afterend", box);
    return { box: box, bar: bar, amount: amount, status: status };
  }

  /* "1.5 MB" with a no-break space, so a number never ends a line without its unit. */
  function inMegabytes(bytes) {
    return megabytes.format(bytes / 1e6).replace(/ /g, "\u00a0");
  }

  function showAmount(sent, total) {
    var fraction = total > 0 ? Math.min(sent / total, 1) : 0;
    var text = words("of")
      .replace("{sent}", inMegabytes(sent))
      .replace("{total}", inMegabytes(total))
      .replace("{percent}", percent.format(fraction));
    panel.bar.value = fraction;
    panel.bar.setAttribute("aria-valuetext", text);
    panel.amount.textContent = text;
  }

  function failed() {
    sending = false;
    if (button) {
      button.disabled = false;
    }
    if (panel) {
      panel.box.parentNode.removeChild(panel.box);
      panel = null;
    }
    var old = form.querySelector(".upload-failed");
    if (old) {
      old.parentNode.removeChild(old);
    }
    var message = element("p", "upload-failed", words("failed"));
    message.setAttribute("role", "alert");
    message.tabIndex = -1;
    (button || form.lastChild).insertAdjacentElement("afterend", message);
    message.focus();
  }

  function replaceDocument(html) {
    document.open();
    document.write(html);
    document.close();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (sending) {
      return; // a second tap while sending must not send the tip twice
    }
    sending = true;
    var old = form.querySelector(".upload-failed");
    if (old) {
      old.parentNode.removeChild(old);
    }
    if (button) {
      button.disabled = true;
    }
    panel = makePanel();
    panel.status.textContent = words("sending");

    var request = new XMLHttpRequest();
    // getAttribute: a field named "action" would shadow the form.action property.
    request.open("POST", form.getAttribute("action") || window.location.href);
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable && panel) {
        showAmount(e.loaded, e.total);
      }
    });
    request.upload.addEventListener("load", function (e) {
      if (panel) {
        if (e.lengthComputable) {
          showAmount(e.loaded, e.total);
        }
        panel.status.textContent = words("wait");
      }
    });
    request.addEventListener("load", function () {
      if (request.status === 0 || !request.responseText) {
        failed();
        return;
      }
      replaceDocument(request.responseText);
    });
    request.addEventListener("error", failed);
    request.addEventListener("abort", failed);
    request.addEventListener("timeout", failed);
    request.send(new FormData(form));
  });
})();
