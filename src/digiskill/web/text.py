"""Every word the web pages show, in plain Danish and plain English, in one place.

Short sentences, everyday words, one idea per sentence (the people who take the test are often unsure of IT, some read
with difficulty). Templates use ``t.KEY``; texts with ``{name}`` fields are filled with ``str.format``.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["da", "en"]
LANGS: tuple[Lang, ...] = ("da", "en")
#: the voice the read-aloud button asks the browser for
SPEECH_LANG = {"da": "da-DK", "en": "en-GB"}

_TEXTS: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------------ frame
    "site_name": ("Test af digitale færdigheder", "Digital skills test"),
    "skip_to_content": ("Gå til indholdet", "Skip to content"),
    "other_lang_name": ("English", "Dansk"),
    "other_lang_label": ("Read this page in English", "Læs siden på dansk"),
    "footer_verify": ("Kontrollér et bevis", "Check a certificate"),
    "footer_staff": ("For sagsbehandlere", "For caseworkers"),
    "footer_note": (
        "Testen bestemmer ikke noget om dig. Det gør en sagsbehandler, som taler med dig.",
        "The test decides nothing about you. A caseworker who talks with you does.",
    ),
    # ------------------------------------------------------------------ start page
    "start_title": ("Test dine digitale færdigheder", "Test your digital skills"),
    "start_intro": (
        "Testen viser, hvad du allerede kan med computer, telefon og internet. Den bruges til at finde det, "
        "der kan hjælpe dig videre.",
        "The test shows what you can already do with a computer, a phone and the internet. It is used to find what "
        "can help you further.",
    ),
    "code_label": ("Din kode", "Your code"),
    "code_hint": (
        "Koden står i din invitation, fx 7K3M-Q9TX-AB12-CD34-EF56. Store og små bogstaver er lige gode.",
        "The code is in your invitation, e.g. 7K3M-Q9TX-AB12-CD34-EF56. Upper and lower case are the same.",
    ),
    "code_button": ("Gå til testen", "Go to the test"),
    "about_heading": ("Om testen", "About the test"),
    "about_what": (
        "Du får ét spørgsmål ad gangen. De næste spørgsmål passer til dine svar.",
        "You get one question at a time. The next questions fit your answers.",
    ),
    "about_duration": (
        "Testen har normalt {lo}–{hi} spørgsmål. De fleste bruger {lo_min}–{hi_min} minutter.",
        "The test usually has {lo}–{hi} questions. Most people use {lo_min}–{hi_min} minutes.",
    ),
    "about_no_limit": (
        "Der er ingen tidsgrænse. Du kan holde pause, når du vil, og fortsætte en anden dag.",
        "There is no time limit. You can take a break whenever you like and go on another day.",
    ),
    "about_decides": (
        "Testen bestemmer ikke noget alene. En sagsbehandler ser resultatet sammen med dig og tager beslutningen.",
        "The test does not decide anything on its own. A caseworker looks at the result with you and makes the "
        "decision.",
    ),
    "gdpr_heading": ("Dine data", "Your data"),
    "gdpr_text": (
        "Vi gemmer dine svar og dit resultat under et nummer, ikke under dit navn. Kun jobcentret, der inviterede dig, "
        "kan se dem. De bruges til at finde tilbud, der passer til dig.",
        "We store your answers and your result under a number, not under your name. Only the jobcentre that invited "
        "you can see them. They are used to find offers that suit you.",
    ),
    "gdpr_rights": (
        "Du har ret til at se alt, vi har om dig, og til at få det slettet. Spørg din sagsbehandler.",
        "You have the right to see everything we hold about you and to have it deleted. Ask your caseworker.",
    ),
    # ------------------------------------------------------------------ invitation / intro
    "intro_title": ("Klar til testen", "Ready for the test"),
    "intro_areas": ("Testen handler om:", "The test is about:"),
    "intro_start": ("Start testen", "Start the test"),
    "intro_resume": ("Fortsæt testen", "Continue the test"),
    "intro_answered": ("Du har svaret på {n} spørgsmål indtil nu.", "You have answered {n} questions so far."),
    # ------------------------------------------------------------------ item
    "item_title": ("Spørgsmål {n}", "Question {n}"),
    "item_progress": (
        "Du har svaret på {n} spørgsmål. Testen stopper af sig selv, når den ved nok.",
        "You have answered {n} questions. The test stops by itself when it knows enough.",
    ),
    "item_area": ("Emne: {area}", "Topic: {area}"),
    "item_choose_one": ("Vælg ét svar.", "Choose one answer."),
    "item_choose_many": ("Vælg alle de svar, der passer.", "Choose every answer that fits."),
    "item_order": (
        "Sæt trinene i den rigtige rækkefølge. Vælg for hver plads det trin, der hører til.",
        "Put the steps in the right order. For each place, choose the step that belongs there.",
    ),
    "item_place": ("Plads {n}", "Place {n}"),
    "item_true": ("Sandt", "True"),
    "item_false": ("Falsk", "False"),
    "item_submit": ("Svar og gå videre", "Answer and go on"),
    "item_pause": ("Hold pause", "Take a break"),
    "item_read_aloud": ("Læs op", "Read aloud"),
    "item_stop_reading": ("Stop oplæsning", "Stop reading"),
    "item_steps_given": ("Trinene:", "The steps:"),
    "error_heading": ("Der er et problem", "There is a problem"),
    "err_choose_one": ("Vælg et svar, før du går videre.", "Choose an answer before you go on."),
    "err_order_twice": (
        "Hvert trin må kun bruges én gang. Vælg et nyt trin til de pladser, der er markeret.",
        "Each step can be used only once. Choose a new step for the places that are marked.",
    ),
    "notice_already": (
        "Det spørgsmål var allerede besvaret. Her er det spørgsmål, du er nået til.",
        "That question was already answered. Here is the question you have reached.",
    ),
    # ------------------------------------------------------------------ pause
    "pause_title": ("Testen holder pause", "The test is on a break"),
    "pause_text": (
        "Dine svar er gemt. Du kan fortsætte når som helst, også på en anden computer eller telefon.",
        "Your answers are saved. You can go on at any time, also on another computer or phone.",
    ),
    "pause_code": ("Din kode", "Your code"),
    "pause_link": ("Eller brug dette link", "Or use this link"),
    "pause_keep": (
        "Skriv koden ned, eller gem linket. Del det ikke med andre.",
        "Write the code down or save the link. Do not share it with others.",
    ),
    "pause_resume": ("Fortsæt testen", "Continue the test"),
    # ------------------------------------------------------------------ result
    "result_title": ("Dit resultat", "Your result"),
    "result_intro": (
        "Her er dit niveau i hvert emne. Niveauerne går fra 1 til 8. De fleste ligger mellem 1 og 5.",
        "Here is your level in each topic. The levels go from 1 to 8. Most people are between 1 and 5.",
    ),
    "result_decides": (
        "Resultatet er en hjælp til samtalen med din sagsbehandler. Det bestemmer ikke noget alene.",
        "The result helps the talk with your caseworker. It does not decide anything on its own.",
    ),
    "result_provisional": (
        "Foreløbigt resultat: testens spørgsmål er endnu ikke afprøvet på mange mennesker.",
        "Provisional result: the test's questions have not yet been tried on many people.",
    ),
    "result_levels_heading": ("Niveau i hvert emne", "Level in each topic"),
    "result_level": ("Niveau {level} af 8: {name}", "Level {level} of 8: {name}"),
    "result_no_level": ("Ikke nok svar til niveau 1 endnu", "Not enough answers for level 1 yet"),
    "result_items": ("{n} spørgsmål", "{n} questions"),
    "result_joint_rule": (
        "Sådan er dit niveau fundet: Emnerne hænger sammen, så vi bruger dine svar i alle emner. Men dit niveau i et "
        "emne er aldrig højere, end dine egne svar i emnet støtter, og aldrig lavere, end de viser.",
        "How your level was found: the topics are related, so we use your answers in all topics. But your level in a "
        "topic is never higher than your own answers in that topic support, and never lower than they show.",
    ),
    "result_levels_meaning": ("Hvad betyder niveauerne?", "What do the levels mean?"),
    "result_next_heading": ("Hvad nu?", "What next?"),
    "result_next_intro": (
        "Her er steder, hvor du kan lære mere. Tal med din sagsbehandler om, hvad der passer til dig.",
        "Here are places where you can learn more. Talk with your caseworker about what suits you.",
    ),
    "result_downloads_heading": ("Dit bevis", "Your certificate"),
    "result_download_pdf": ("Hent beviset som PDF", "Download the certificate as PDF"),
    "result_download_credential": (
        "Hent det digitale bevis (Open Badges, JSON)",
        "Download the digital credential (Open Badges, JSON)",
    ),
    "result_answers_heading": ("Dine svar", "Your answers"),
    "result_answers_intro": (
        "Her kan du se hvert spørgsmål, dit svar, det rigtige svar og en forklaring.",
        "Here you can see every question, your answer, the right answer and an explanation.",
    ),
    "result_your_answer": ("Dit svar", "Your answer"),
    "result_right_answer": ("Rigtigt svar", "Right answer"),
    "result_explanation": ("Forklaring", "Explanation"),
    "result_right": ("Rigtigt", "Right"),
    "result_partly": ("Delvist rigtigt", "Partly right"),
    "result_wrong": ("Ikke rigtigt", "Not right"),
    "result_nothing": ("(intet valgt)", "(nothing chosen)"),
    "result_purged": (
        "Dine enkelte svar er slettet efter reglerne for opbevaring. Dit niveau er gemt.",
        "Your single answers have been deleted under the storage rules. Your level is kept.",
    ),
    # ------------------------------------------------------------------ errors
    "err_title": ("Noget gik galt", "Something went wrong"),
    "err_unknown_code": (
        "Vi kan ikke finde en test med den kode. Tjek koden i din invitation, og prøv igen.",
        "We cannot find a test with that code. Check the code in your invitation and try again.",
    ),
    "err_bad_code": (
        "Det ligner ikke en kode. En kode har 20 tegn, fx 7K3M-Q9TX-AB12-CD34-EF56.",
        "That does not look like a code. A code has 20 characters, e.g. 7K3M-Q9TX-AB12-CD34-EF56.",
    ),
    "err_purged": (
        "Denne test er afsluttet for længe siden, og svarene er slettet. Kontakt dit jobcenter.",
        "This test ended a long time ago and the answers have been deleted. Contact your jobcentre.",
    ),
    "err_rate_limited": (
        "Der er prøvet for mange forkerte koder. Vent et minut, og prøv igen.",
        "Too many wrong codes have been tried. Wait a minute and try again.",
    ),
    "err_finished": ("Testen er slut. Du kan se dit resultat.", "The test has ended. You can see your result."),
    "err_not_finished": ("Testen er ikke slut endnu.", "The test has not ended yet."),
    "err_csrf": (
        "Siden var for gammel. Gå tilbage, genindlæs siden, og prøv igen.",
        "The page was too old. Go back, reload the page and try again.",
    ),
    "err_not_found": ("Siden findes ikke.", "The page does not exist."),
    "err_busy": ("Der er travlt lige nu. Prøv igen om lidt.", "It is busy right now. Try again in a moment."),
    "err_generic": ("Der skete en fejl. Prøv igen om lidt.", "An error happened. Try again in a moment."),
    "err_back_home": ("Til forsiden", "To the front page"),
    "err_to_test": ("Tilbage til testen", "Back to the test"),
    # ------------------------------------------------------------------ verify
    "verify_title": ("Kontrollér et bevis", "Check a certificate"),
    "verify_intro": (
        "Sæt det digitale bevis (JSON) eller teksten fra PDF'ens QR-kode ind, eller vælg filen. Vi kontrollerer "
        "underskriften og om beviset er trukket tilbage. Beviset gemmes ikke.",
        "Paste the digital credential (JSON) or the text of the PDF's QR code, or choose the file. We check the "
        "signature and whether the certificate was withdrawn. The credential is not stored.",
    ),
    "verify_paste": ("Sæt beviset ind her", "Paste the credential here"),
    "verify_file": ("Eller vælg filen", "Or choose the file"),
    "verify_button": ("Kontrollér", "Check"),
    "verify_valid": ("Beviset er gyldigt", "The certificate is valid"),
    "verify_invalid": ("Beviset er ikke gyldigt", "The certificate is not valid"),
    "verify_revoked": ("Beviset er trukket tilbage", "The certificate has been withdrawn"),
    "verify_unknown": ("Vi kender ikke dette bevis", "We do not know this certificate"),
    "verify_unknown_text": (
        "Linket peger ikke på et bevis, som denne tjeneste har udstedt.",
        "The link does not point to a certificate issued by this service.",
    ),
    "verify_erased": (
        "Beviset findes, men indholdet er slettet efter ønske fra personen. Bed personen om filen.",
        "The certificate exists, but its content was deleted at the person's request. Ask the person for the file.",
    ),
    "verify_issued": ("Udstedt af {issuer} den {date}.", "Issued by {issuer} on {date}."),
    "verify_levels": ("Niveauer", "Levels"),
    "verify_level_value": ("Niveau {level}", "Level {level}"),
    "verify_problems": ("Det er der galt:", "What is wrong:"),
    "verify_demo": (
        "Advarsel: beviset er underskrevet med en demonøgle. Det beviser ikke noget.",
        "Warning: the certificate is signed with a demo key. It proves nothing.",
    ),
    "verify_revoked_text": ("Udstederen har trukket beviset tilbage.", "The issuer has withdrawn the certificate."),
    "verify_not_json": ("Det er ikke et digitalt bevis (JSON).", "That is not a digital credential (JSON)."),
    "verify_empty": ("Sæt et bevis ind, eller vælg en fil.", "Paste a credential or choose a file."),
    "verify_another": ("Kontrollér et andet bevis", "Check another certificate"),
    # ------------------------------------------------------------------ staff
    "staff_login_title": ("Log ind som sagsbehandler", "Log in as a caseworker"),
    "staff_username": ("Brugernavn", "Username"),
    "staff_password": ("Adgangskode", "Password"),
    "staff_login_button": ("Log ind", "Log in"),
    "staff_token_heading": ("Log ind med en nøgle (token)", "Log in with a token"),
    "staff_token": ("Nøgle (token)", "Token"),
    "staff_login_failed": ("Brugernavn eller adgangskode er forkert.", "The username or password is wrong."),
    "staff_token_failed": ("Nøglen er ikke gyldig til disse sider.", "The token is not valid for these pages."),
    "staff_logout": ("Log ud", "Log out"),
    "staff_home_title": ("Tests og invitationer", "Tests and invitations"),
    "staff_signed_in": ("Logget ind som {name} ({role}).", "Signed in as {name} ({role})."),
    "staff_invite_heading": ("Ny invitation", "New invitation"),
    "staff_person": ("Personens reference (pseudonym, aldrig CPR-nummer)", "Person reference (pseudonym, never a CPR)"),
    "staff_areas": ("Emner (ingen valgt: alle)", "Topics (none chosen: all)"),
    "staff_profile": (
        "Eller en jobprofil (tester dens vigtige emner)",
        "Or a job profile (tests its essential topics)",
    ),
    "staff_screen_profile": ("Jobprofil", "Job profile"),
    "staff_no_profile": ("Ingen jobprofil", "No job profile"),
    "staff_lang": ("Sprog i testen", "Language of the test"),
    "staff_invite_button": ("Opret invitation", "Create invitation"),
    "staff_invited_title": ("Invitationen er oprettet", "The invitation has been created"),
    "staff_invited_text": (
        "Giv personen koden eller linket. Koden vises kun denne ene gang.",
        "Give the person the code or the link. The code is shown only this once.",
    ),
    "staff_sessions_heading": ("Tests", "Tests"),
    "staff_filter_person": ("Vis kun personen", "Show only the person"),
    "staff_filter_button": ("Vis", "Show"),
    "staff_col_person": ("Person", "Person"),
    "staff_col_status": ("Status", "Status"),
    "staff_col_answered": ("Besvaret", "Answered"),
    "staff_col_created": ("Oprettet", "Created"),
    "staff_col_open": ("Åbn", "Open"),
    "staff_open_session": ("Åbn test for {person}", "Open test of {person}"),
    "staff_no_sessions": ("Ingen tests endnu.", "No tests yet."),
    "staff_session_title": ("Test for {person}", "Test of {person}"),
    "staff_result_heading": ("Resultat", "Result"),
    "staff_not_finished": ("Testen er ikke slut endnu.", "The test has not ended yet."),
    "staff_col_area": ("Emne", "Topic"),
    "staff_col_theta": ("θ (evne)", "θ (ability)"),
    "staff_col_se": ("SE", "SE"),
    "staff_col_items": ("Spørgsmål", "Questions"),
    "staff_col_level": ("Niveau", "Level"),
    "staff_col_probs": ("P(niveau ≥ L)", "P(level ≥ L)"),
    "staff_joint_heading": (
        "Niveauets grundlag (flerdimensionel test)",
        "What the level rests on (multidimensional test)",
    ),
    "staff_joint_rule": (
        "θ, SE og P ovenfor bygger på svarene i alle emner. Niveauet er niveauet ud fra alle svar, men aldrig over "
        "det, emnets egne svar støtter (P ≥ 0,5), og aldrig under det, de beviser (P ≥ 0,8).",
        "θ, SE and P above use the answers in all topics. The level is the level from all answers, but never above the "
        "one the topic's own answers support (P ≥ 0.5) and never below the one they prove (P ≥ 0.8).",
    ),
    "staff_col_joint": ("Ud fra alle svar", "From all answers"),
    "staff_col_own": ("Egne svar: θ (SE)", "Own answers: θ (SE)"),
    "staff_col_proven": ("Bevist (egne svar)", "Proven (own answers)"),
    "staff_col_supported": ("Støttet (egne svar)", "Supported (own answers)"),
    "staff_screen_heading": ("Sammenlign med en jobprofil", "Compare with a job profile"),
    "staff_screen_button": ("Sammenlign", "Compare"),
    "staff_screen_score": ("Samlet sandsynlighed S = {score}: {band}", "Overall probability S = {score}: {band}"),
    "staff_col_required": ("Krævet niveau", "Required level"),
    "staff_col_essential": ("Vigtigt", "Essential"),
    "staff_col_cut": ("Grænse", "Cut score"),
    "staff_col_pi": ("π", "π"),
    "staff_col_own_pi": ("π egne svar", "π own answers"),
    "staff_col_scored_pi": ("π der tæller i S", "π counted in S"),
    "staff_yes": ("ja", "yes"),
    "staff_no": ("nej", "no"),
    "staff_screen_reminder": (
        "Sammenligningen er en støtte. Det er dig, der beslutter – sammen med borgeren (GDPR art. 22).",
        "The comparison is a support. You decide, together with the citizen (GDPR art. 22).",
    ),
    "staff_cert_heading": ("Beviser", "Certificates"),
    "staff_cert_issue": ("Udsted bevis", "Issue certificate"),
    "staff_cert_none": ("Intet bevis udstedt.", "No certificate issued."),
    "staff_cert_revoked": ("trukket tilbage", "withdrawn"),
    "staff_cert_active": ("gyldigt", "valid"),
    "staff_cert_reason": ("Begrundelse", "Reason"),
    "staff_cert_revoke": ("Træk beviset tilbage", "Withdraw the certificate"),
    "staff_cert_verify": ("Se bekræftelsessiden", "See the verification page"),
    "staff_gdpr_heading": ("Personens data (GDPR)", "The person's data (GDPR)"),
    "staff_export": ("Hent alt om {person} (JSON)", "Download everything about {person} (JSON)"),
    "staff_erase_confirm": (
        "Ja, slet alt om {person}. Udstedte beviser kan stadig kontrolleres.",
        "Yes, erase everything about {person}. Issued certificates can still be checked.",
    ),
    "staff_erase_button": ("Slet personens data", "Erase the person's data"),
    "staff_erase_admin_only": ("Kun en administrator kan slette data.", "Only an administrator can erase data."),
    "staff_erase_must_confirm": ("Sæt flueben for at bekræfte sletningen.", "Tick the box to confirm the erasure."),
    "staff_erased_title": ("Data er slettet", "The data has been erased"),
    "staff_erased_text": (
        "Slettet: {sessions} test(s), {answers} svar. {certificates} bevis(er) kan stadig kontrolleres.",
        "Erased: {sessions} test(s), {answers} answers. {certificates} certificate(s) can still be checked.",
    ),
    "staff_back": ("Tilbage til oversigten", "Back to the overview"),
    "staff_invalid_input": ("Tjek felterne: {detail}", "Check the fields: {detail}"),
    "status_invited": ("inviteret", "invited"),
    "status_active": ("i gang", "in progress"),
    "status_paused": ("pause", "paused"),
    "status_finished": ("afsluttet", "finished"),
    "status_purged": ("svar slettet", "answers deleted"),
}

#: the texts of each language: ``TEXTS["da"]["site_name"]``
TEXTS: dict[str, dict[str, str]] = {lang: {k: v[i] for k, v in _TEXTS.items()} for i, lang in enumerate(LANGS)}


class Texts:
    """Attribute access for templates (``t.site_name``); a missing key is an error, never a blank."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self._texts = TEXTS[lang]

    def __getattr__(self, key: str) -> str:
        try:
            return self._texts[key]
        except KeyError:
            raise AttributeError(f"no text {key!r}") from None

    def __call__(self, key: str, **fields: object) -> str:
        return self._texts[key].format(**fields)


TEXT_OBJECTS = {lang: Texts(lang) for lang in LANGS}
