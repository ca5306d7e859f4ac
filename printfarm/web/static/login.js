// Signs in from a link that carries its token in the fragment (/login#token=pf_…, as `printfarm demo`
// prints them). A browser never sends the fragment to the server, so the token stays out of access
// logs, proxies and Referer headers; it travels in the POST /login body instead, and leaves the
// address bar (and history) before anything else happens.
"use strict";
(() => {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (!token) return;
  history.replaceState(null, "", location.pathname + location.search);
  const form = document.querySelector("form.login");
  form.elements.token.value = token;
  form.submit();
})();
