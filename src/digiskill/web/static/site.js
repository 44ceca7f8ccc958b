/* Read aloud: the browser's own speech synthesis (da-DK or en-GB) reads the question and its options.
   Nothing is sent anywhere; without JavaScript or a voice the button stays hidden and the page works as before. */
(function () {
  "use strict";
  var button = document.querySelector(".read-aloud");
  if (!button || !("speechSynthesis" in window) || typeof SpeechSynthesisUtterance === "undefined") return;
  var startText = button.textContent;
  var lang = button.getAttribute("data-speech-lang") || document.documentElement.lang;
  function parts() {
    var out = [];
    document.querySelectorAll("[data-read]").forEach(function (el) { out.push(el.textContent.trim()); });
    return out.join(". ");
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    var synth = window.speechSynthesis;
    if (synth.speaking) { synth.cancel(); button.textContent = startText; return; }
    var u = new SpeechSynthesisUtterance(parts());
    u.lang = lang;
    var voice = synth.getVoices().filter(function (v) { return v.lang && v.lang.replace("_", "-") === lang; })[0];
    if (voice) u.voice = voice;
    u.rate = 0.9;
    u.onend = u.onerror = function () { button.textContent = startText; };
    button.textContent = button.getAttribute("data-stop-text") || startText;
    synth.speak(u);
  });
})();
