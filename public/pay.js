// Paying an order by card on its page (`#card-form`): loads the provider's
// script (Stripe.js, from the address the shop is configured with), mounts
// its card field, confirms the payment with the order's client secret (the
// provider runs 3-D Secure itself), says plainly when a card is declined,
// and reloads the order page until the payment is confirmed.
(function () {
  'use strict';

  function say(form, message) {
    var out = form.querySelector('.field-error');
    out.textContent = message || '';
    out.hidden = !message;
  }

  function reloadWith(step) {
    var url = new URL(window.location.href);
    url.searchParams.set('paying', String(step));
    window.location.replace(url.toString());
  }

  // while a confirmed payment is not yet recorded, look again (10 times at most)
  function refresh() {
    if (!document.querySelector('[data-refresh]')) return;
    var step = parseInt(new URL(window.location.href).searchParams.get('paying') || '1', 10) || 1;
    if (step < 10) setTimeout(function () { reloadWith(step + 1); }, 2000);
  }

  function mount(form) {
    var stripe = window.Stripe(form.dataset.key);
    var card = stripe.elements().create('card');
    card.mount(form.querySelector('.card-element'));
    var button = form.querySelector('button[type=submit]');
    button.disabled = false;
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      button.disabled = true;
      form.setAttribute('aria-busy', 'true');
      say(form, '');
      stripe.confirmCardPayment(form.dataset.secret, { payment_method: { card: card } }).then(function (result) {
        form.removeAttribute('aria-busy');
        if (result && result.error) {
          button.disabled = false;
          var e = result.error;
          var declined = e.code === 'card_declined' || e.type === 'card_error' || !!e.decline_code;
          say(form, declined ? form.dataset.declined : form.dataset.failed + (e.message ? ' (' + e.message + ')' : ''));
          return;
        }
        reloadWith(1);
      }, function () {
        form.removeAttribute('aria-busy');
        button.disabled = false;
        say(form, form.dataset.failed);
      });
    });
  }

  // The page's client takes over (hydrates) on the first interaction and
  // expects the page as the server sent it: the provider's script and field
  // come after that. Hydration is asked for now; if it has not happened within
  // 5 seconds (a slow network), the field goes in anyway: paying comes first.
  function afterHydration(then) {
    var body = document.body;
    if (body.getAttribute('data-hydrated') === 'true') return then();
    var done = false;
    var go = function () { if (!done) { done = true; observer.disconnect(); then(); } };
    var observer = new MutationObserver(function () { if (body.getAttribute('data-hydrated') === 'true') go(); });
    observer.observe(body, { attributes: true, attributeFilter: ['data-hydrated'] });
    setTimeout(go, 5000);
    window.dispatchEvent(new Event('pointermove'));
  }

  function start() {
    refresh();
    var form = document.getElementById('card-form');
    if (!form || form.dataset.ready) return;
    form.dataset.ready = '1';
    var nojs = document.querySelectorAll('.card-needs-js');
    for (var i = 0; i < nojs.length; i++) nojs[i].hidden = true;
    // the provider's script comes after the client took over, too: it
    // defines globals of its own (localstripe's stand-in replaces `Element`)
    afterHydration(function () {
      if (window.Stripe) return mount(form);
      var script = document.createElement('script');
      script.src = form.dataset.script;
      script.onload = function () { mount(form); };
      script.onerror = function () { say(form, form.dataset.unavailable); };
      document.head.appendChild(script);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
