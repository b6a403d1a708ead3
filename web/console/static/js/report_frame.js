// Inside the sandboxed report frame (an opaque origin, no access to the console's storage):
// the report HTML the console posts becomes this document, its own scripts included.
(function () {
  "use strict";
  const console_origin = new URL(location.href).origin;
  window.addEventListener("message", function show(event) {
    if (event.source !== window.parent || event.origin !== console_origin) return;
    if (typeof event.data !== "string") return;
    window.removeEventListener("message", show);
    document.open();
    document.write(event.data);
    document.close();
  });
})();
