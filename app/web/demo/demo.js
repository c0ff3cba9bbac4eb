// Reference booking page: the compliant path a teleconsultation platform must offer.
// 1. Show the ETHT.01 message (GET /v1/information-message, verbatim) with a location field
//    (GET /v1/communes, a WAI-ARIA combobox) and a way to decline.
// 2. Rank a sample roster of fictional physicians (POST /v1/rankings) and show it in that order.
// 3. Ask for the verdict on exactly what was shown (POST /v1/scenario-evaluations).
// Everything is built with textContent: nothing typed or received is ever parsed as HTML.
// On a deployment with API keys the calls get 401 and the page says so: it sends no key, as a key
// must never be handed to a browser (a platform's own server calls the service with its key).
"use strict";

// Fictional physicians. One always practises in the patient's own commune: a platform must be
// able to propose a physician of the patient's territory first (ETHT.02).
const FIXED_ROSTER = [
  { id: "dr-bruno-fictif", name: "Dr Bruno Fictif (fictif)", commune: "75111", place: "Paris 11e" },
  { id: "dre-chloe-demo", name: "Dre Chloé Démo (fictive)", commune: "69382", place: "Lyon 2e" },
  { id: "dr-david-essai", name: "Dr David Essai (fictif)", commune: "13206", place: "Marseille 6e" },
  { id: "dre-elise-modele", name: "Dre Élise Modèle (fictive)", commune: "59350", place: "Lille" },
  { id: "dr-fabien-temoin", name: "Dr Fabien Témoin (fictif)", commune: "97209", place: "Fort-de-France" },
];
const LOCAL_PHYSICIAN = { id: "dre-alice-exemple", name: "Dre Alice Exemple (fictive)" };
const TIERS = {
  same_departement: "même département (territorial)",
  adjacent_departement: "département limitrophe",
  same_region: "même région",
  outside_territory: "hors territoire",
  unlocated: "non localisé",
  not_applicable: "sans objet : pas de localisation",
};
const VERDICTS = {
  compliant: "Conforme",
  non_compliant: "Non conforme",
  out_of_scope: "Hors du périmètre du référentiel",
  inconclusive: "Non concluant",
};
const STATUSES = {
  pass: "satisfait",
  fail: "non satisfait",
  inconclusive: "indéterminé (un fait manque)",
  not_applicable: "sans objet",
};
const ASPECTS = {
  information_message: "message d’information affiché",
  location_input: "saisie de la localisation proposée",
  ordering: "médecin du territoire proposé en premier",
};
const MATCHES = {
  old_name: (value) => `ancien nom : ${value}`,
  postal_code: (value) => `code postal ${value}`,
  insee_code: (value) => `code INSEE ${value}`,
  old_insee_code: (value) => `ancien code INSEE ${value}`,
};

const $ = (id) => document.getElementById(id);
const state = { message: null, rulings: null, options: [], active: -1, typed: "", timer: 0, pending: null };

class ApiError extends Error {
  constructor(status) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, body, signal) {
  const init = body === undefined ? { signal } : {
    method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" }, signal,
  };
  const response = await fetch(path, init);
  if (!response.ok) throw new ApiError(response.status);
  return response.json();
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function showUnavailable(error) {
  const notice = $("unavailable");
  notice.textContent = error instanceof ApiError && error.status === 401
    ? "Ce déploiement exige une clé d’API (X-API-Key) pour /v1/*. Cette page appelle l’API depuis le navigateur " +
      "et n’envoie aucune clé : une clé ne doit jamais être confiée à un navigateur. Essayez-la sur un déploiement " +
      "sans clé (make run) ; en production, c’est le serveur de la plateforme qui appelle le service, avec sa clé."
    : "Le service ne répond pas pour le moment : rechargez la page dans un instant.";
  notice.hidden = false;
}

// ---------------------------------------------------------------- step 1: message and location

async function start() {
  try {
    [state.message, state.rulings] = await Promise.all([api("/v1/information-message"), api("/v1/rulings")]);
  } catch (error) {
    $("message").textContent = "Le message d’information n’a pas pu être chargé.";
    showUnavailable(error);
    return;
  }
  $("message").textContent = state.message.text; // verbatim, as the ANS FAQ quotes it
  $("message").dataset.state = "shown";
  $("message-source").textContent =
    `${state.message.requirement}, version ${state.message.version} (SHA-256 ${state.message.sha256.slice(0, 12)}…)`;
  const input = $("commune");
  input.disabled = false;
  $("decline").disabled = false;
  input.addEventListener("input", onType);
  input.addEventListener("keydown", onKey);
  input.addEventListener("blur", () => setTimeout(closeList, 150));
  $("commune-options").addEventListener("mousedown", (event) => event.preventDefault()); // keep focus
  $("commune-options").addEventListener("click", (event) => {
    const option = event.target.closest("[role=option]");
    if (option) choose(Number(option.dataset.index));
  });
  $("decline").addEventListener("click", decline);
  $("location-form").addEventListener("submit", (event) => event.preventDefault());
}

function onType() {
  clearTimeout(state.timer);
  state.typed = $("commune").value;
  for (const id of ["chosen", "step-physicians", "step-verdict"]) $(id).hidden = true; // a new location
  if (!/[\p{L}\p{N}]/u.test(state.typed)) {
    showOptions([]);
    return;
  }
  state.timer = setTimeout(() => suggest(state.typed), 120);
}

async function suggest(text) {
  if (state.pending) state.pending.abort();
  state.pending = new AbortController();
  try {
    const found = await api(`/v1/communes?q=${encodeURIComponent(text)}&limit=8`, undefined, state.pending.signal);
    if (text === state.typed) showOptions(found.communes);
  } catch (error) {
    if (error.name !== "AbortError") showUnavailable(error);
  }
}

function describe(commune) {
  const parts = [`${commune.name} (${commune.departement.code})`, commune.departement.name];
  if (commune.postal_codes.length) parts.push(commune.postal_codes.slice(0, 3).join(", "));
  const note = MATCHES[commune.matched.kind];
  if (note) parts.push(note(commune.matched.value));
  if (commune.matched.typo) parts.push("orthographe approchée");
  return parts.join(" · ");
}

function showOptions(communes) {
  const list = $("commune-options");
  state.options = communes;
  state.active = -1;
  list.replaceChildren(...communes.map((commune, index) => {
    const option = element("li", describe(commune));
    option.id = `commune-option-${index}`;
    option.setAttribute("role", "option");
    option.setAttribute("aria-selected", "false");
    option.dataset.index = String(index);
    return option;
  }));
  list.hidden = communes.length === 0;
  $("commune").setAttribute("aria-expanded", String(!list.hidden));
  $("commune").removeAttribute("aria-activedescendant");
  $("commune-status").textContent = communes.length
    ? `${communes.length} commune${communes.length > 1 ? "s" : ""} proposée${communes.length > 1 ? "s" : ""}.`
    : state.typed.trim() ? "Aucune commune ne correspond." : "";
}

function closeList() {
  $("commune-options").hidden = true;
  $("commune").setAttribute("aria-expanded", "false");
  $("commune").removeAttribute("aria-activedescendant");
  state.active = -1;
}

function moveTo(index) {
  const options = $("commune-options").children;
  if (!options.length) return;
  $("commune-options").hidden = false;
  $("commune").setAttribute("aria-expanded", "true");
  state.active = (index + options.length) % options.length; // wraps, as in the APG example
  for (const option of options) option.setAttribute("aria-selected", "false");
  const active = options[state.active];
  active.setAttribute("aria-selected", "true");
  active.scrollIntoView({ block: "nearest" });
  $("commune").setAttribute("aria-activedescendant", active.id);
}

function onKey(event) {
  const open = !$("commune-options").hidden;
  if (event.key === "ArrowDown" && event.altKey) {
    event.preventDefault();
    if (state.options.length) {
      $("commune-options").hidden = false;
      $("commune").setAttribute("aria-expanded", "true");
    }
  } else if (event.key === "ArrowDown") {
    event.preventDefault();
    moveTo(open ? state.active + 1 : 0);
  } else if (event.key === "ArrowUp") {
    event.preventDefault();
    moveTo(open && state.active >= 0 ? state.active - 1 : -1);
  } else if (event.key === "Enter") {
    event.preventDefault();
    if (open && state.active >= 0) choose(state.active);
  } else if (event.key === "Escape") {
    if (open) closeList();
    else $("commune").value = "";
  }
}

function choose(index) {
  const commune = state.options[index];
  $("commune").value = commune.name;
  closeList();
  const chosen = $("chosen");
  chosen.textContent = `Localisation choisie : ${commune.name} (${commune.departement.code}), code INSEE ${commune.code}.`;
  chosen.hidden = false;
  propose(commune);
}

function decline() {
  $("commune").value = "";
  closeList();
  const chosen = $("chosen");
  chosen.textContent = "Vous avez choisi de ne pas indiquer votre localisation.";
  chosen.hidden = false;
  propose(null);
}

// ---------------------------------------------------------------- step 2: the ranked roster

async function propose(commune) {
  const roster = commune
    ? [...FIXED_ROSTER, { ...LOCAL_PHYSICIAN, commune: commune.code, place: commune.name }]
    : FIXED_ROSTER;
  const location = commune ? { commune: commune.code } : null;
  try {
    const ranking = await api("/v1/rankings", {
      patient: { location },
      physicians: roster.map((p) => ({ id: p.id, location: { commune: p.commune } })),
    });
    const shown = ranking.ranking.map((ranked) => ({ ...ranked, ...roster.find((p) => p.id === ranked.id) }));
    showPhysicians(shown, ranking.territoriality.applicable);
    await judge(location, shown);
  } catch (error) {
    showUnavailable(error);
  }
}

function showPhysicians(shown, applicable) {
  $("territoriality").textContent = applicable
    ? "Les médecins de votre territoire (votre département) vous sont proposés en premier."
    : "Sans localisation, le principe de territorialité ne s’applique pas (FAQ de l’ANS) : les médecins sont " +
      "proposés sans ordre territorial. Le message d’information ci-dessus reste affiché.";
  $("physicians").replaceChildren(...shown.map((physician) => {
    const item = element("li", undefined, `physician tier-${physician.tier}`);
    item.dataset.id = physician.id;
    item.dataset.tier = physician.tier;
    item.append(element("span", physician.name, "name"), element("span", physician.place, "place"));
    const distance = physician.distance_km === null ? "" : ` · ${physician.distance_km.toLocaleString("fr-FR")} km`;
    item.append(element("span", `${TIERS[physician.tier] || physician.tier}${distance}`, "tier"));
    return item;
  }));
  $("step-physicians").hidden = false;
}

// ---------------------------------------------------------------- step 3: the verdict

async function judge(location, shown) {
  const scenario = {
    channel: "video",
    offers: { with_appointment: true, without_appointment: false },
    information_message_shown: $("message").dataset.state === "shown",
    location_input_offered: true,
    patient: { location },
    proposals: { with_appointment: shown.map((p) => ({ id: p.id, location: { commune: p.commune } })) },
  };
  const evaluation = await api("/v1/scenario-evaluations", scenario);
  const verdict = $("verdict");
  verdict.textContent = `${VERDICTS[evaluation.verdict] || evaluation.verdict}` +
    (evaluation.verdict_ruling ? ` (décision ${evaluation.verdict_ruling})` : "");
  verdict.dataset.verdict = evaluation.verdict;
  $("checks").replaceChildren(...evaluation.checks.map(showCheck));
  $("scenario").textContent = JSON.stringify(scenario, null, 2);
  $("step-verdict").hidden = false;
}

function showCheck(check) {
  const item = element("li", undefined, `check status-${check.status}`);
  const what = `${check.requirement} : ${ASPECTS[check.aspect] || check.aspect} — ${STATUSES[check.status] || check.status}`;
  item.append(element("strong", what), element("span", ` (décision ${check.ruling})`));
  const reason = element("p", check.reason, "reason");
  reason.lang = "en";
  item.append(reason);
  const ruling = state.rulings.rulings.find((r) => r.id === check.ruling);
  if (ruling) {
    const cited = element("p", ruling.quote ? `« ${ruling.quote} »` : ruling.summary, "ruling");
    if (!ruling.quote) cited.lang = "en";
    item.append(cited, element("p", ruling.source, "source"));
  }
  return item;
}

document.addEventListener("DOMContentLoaded", start);
