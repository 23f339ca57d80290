// The demo page: books open to everyone and private shelves, kept live by ResClient over the gateway.
const ResClient = window.resclient.default;

const AUTH_RID = "django.auth";
const ACCESS_DENIED = "system.accessDenied";

const $ = (selector, root = document) => root.querySelector(selector);
const body = document.body.dataset;
const scheme = location.protocol === "https:" ? "wss" : "ws";
const client = new ResClient(`${scheme}://${location.host}${body.wsPath}`);

// --- messages and connection state ---------------------------------------------------------------------

let errorTimer;

function showError(err) {
  const box = $("#error");
  box.textContent = err?.message || String(err);
  box.hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => (box.hidden = true), 8000);
}

function setStatus(state) {
  const status = $("#status");
  status.dataset.state = state;
  status.textContent = state;
}

client.on("connect", () => setStatus("online"));
client.on("disconnect", () => setStatus("offline"));

// --- rendering helpers ----------------------------------------------------------------------------------

function fromTemplate(id) {
  return $(id).content.firstElementChild.cloneNode(true);
}

/** Shows `collection` in `list`, one row per item, following add and remove events; returns an unbind. */
function bindList(collection, list, renderRow) {
  const rows = [];
  const insert = (item, idx) => {
    const row = renderRow(item);
    list.insertBefore(row.el, list.children[idx] || null);
    rows.splice(idx, 0, row);
  };
  const onAdd = ({ item, idx }) => insert(item, idx);
  const onRemove = ({ idx }) => {
    const [row] = rows.splice(idx, 1);
    row.el.remove();
    row.dispose();
  };
  list.replaceChildren();
  collection.toArray().forEach(insert);
  collection.on("add", onAdd);
  collection.on("remove", onRemove);
  return () => {
    collection.off("add", onAdd);
    collection.off("remove", onRemove);
    for (const row of rows.splice(0)) {
      row.el.remove();
      row.dispose();
    }
  };
}

/** Wires a card's view/editor pair: `fill` loads the inputs, `save` returns the promise of the change. */
function editable(el, fill, save, onError = showError) {
  const view = $(".view", el);
  const editor = $(".editor", el);
  const editing = (on) => {
    view.hidden = on;
    editor.hidden = !on;
  };
  $(".edit", el).onclick = () => {
    fill();
    editing(true);
    $("input", editor).focus();
  };
  $(".cancel", el).onclick = () => editing(false);
  editor.onsubmit = (event) => {
    event.preventDefault();
    save().then(() => editing(false), onError);
  };
}

/** A live section: gets `rid`, renders it, and starts over when the gateway takes the resource away. */
class LiveList {
  constructor(rid, list, state, renderRow, describeError) {
    Object.assign(this, { rid, list, state, renderRow, describeError });
    this.generation = 0;
    this.shown = false;
    this.revoked = false;
    this.unbind = () => {};
  }

  async load({ revoked = false } = {}) {
    const generation = ++this.generation;
    Object.assign(this, { shown: false, revoked });
    this.unbind();
    this.unbind = () => {};
    try {
      const collection = await client.get(this.rid);
      if (generation !== this.generation) return;
      const unbindRows = bindList(collection, this.list, (item) => this.renderRow(item, collection));
      const onUnsubscribe = () => generation === this.generation && this.load({ revoked: true });
      collection.on("unsubscribe", onUnsubscribe);
      this.unbind = () => {
        collection.off("unsubscribe", onUnsubscribe);
        unbindRows();
      };
      this.shown = true;
      this.show("ok", "");
    } catch (err) {
      if (generation !== this.generation) return;
      this.list.replaceChildren();
      this.show(...this.describeError(err, revoked));
    }
  }

  /** Loads again unless shown: access may have been granted since it was refused or revoked. */
  retry() {
    if (!this.shown) this.load({ revoked: this.revoked });
  }

  show(state, text) {
    if (!this.state) return;
    this.state.dataset.state = state;
    this.state.textContent = text;
  }
}

// --- books ----------------------------------------------------------------------------------------------

function bookRow(book, books) {
  const el = fromTemplate("#book-template");
  el.dataset.rid = book.getResourceId();
  const render = () => {
    $(".book-title", el).textContent = book.title;
    $(".book-author", el).textContent = `by ${book.author}`;
  };
  editable(
    el,
    () => {
      $(".edit-title", el).value = book.title;
      $(".edit-author", el).value = book.author;
    },
    () => book.set({ title: $(".edit-title", el).value, author: $(".edit-author", el).value }),
  );
  $(".delete", el).onclick = () => books.call("delete", { id: book.id }).catch(showError);
  render();
  book.on("change", render);
  return { el, dispose: () => book.off("change", render) };
}

const books = new LiveList("library.books", $("#books"), null, bookRow, (err) => {
  showError(err);
  return ["error", err.message];
});

$("#new-book").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  client
    .call("library.books", "new", { title: form.title.value, author: form.author.value })
    .then(() => form.reset(), showError);
});

// --- shelves --------------------------------------------------------------------------------------------

function ownerText(shelf) {
  if (shelf.owner_id == null) return "";
  return shelf.owner_id === currentUser?.id ? "your shelf" : `owned by user #${shelf.owner_id}`;
}

/** Keeps `el` showing the titles of the books in `shelfBooks`; returns an unbind. */
function bindTitles(shelfBooks, el) {
  let watched = [];
  const render = () => {
    watched.forEach((book) => book.off("change", render));
    watched = shelfBooks.toArray();
    watched.forEach((book) => book.on("change", render));
    el.textContent = watched.length ? watched.map((book) => book.title).join(" · ") : "No books on this shelf.";
  };
  render();
  shelfBooks.on("add", render);
  shelfBooks.on("remove", render);
  return () => {
    shelfBooks.off("add", render);
    shelfBooks.off("remove", render);
    watched.forEach((book) => book.off("change", render));
  };
}

function shelfRow(shelf) {
  const el = fromTemplate("#shelf-template");
  el.dataset.rid = shelf.getResourceId();
  const error = $(".shelf-error", el);
  const render = () => {
    $(".shelf-name", el).textContent = shelf.name;
    $(".shelf-owner", el).textContent = ownerText(shelf);
  };
  editable(
    el,
    () => {
      error.hidden = true;
      $(".edit-name", el).value = shelf.name;
    },
    () => shelf.set({ name: $(".edit-name", el).value }),
    (err) => {
      error.textContent = `Not saved: ${err.message}`;
      error.hidden = false;
    },
  );
  render();
  shelf.on("change", render);

  // `books` is a reference to the shelf's collection (library.shelf.<id>.books), followed by the gateway.
  const unbindTitles = shelf.books ? bindTitles(shelf.books, $(".shelf-books", el)) : () => {};
  const dispose = () => {
    shelf.off("change", render);
    unbindTitles();
  };
  return { el, dispose };
}

const shelves = new LiveList("library.shelves", $("#shelves"), $("#shelves-state"), shelfRow, (err, revoked) => {
  if (!currentUser) return ["signed-out", "Sign in to see the shelves: alice and bob may, carol may not."];
  const name = currentUser.username;
  if (err.code !== ACCESS_DENIED) return ["error", err.message];
  if (revoked) return ["revoked", `Access revoked: ${name} may no longer see the shelves.`];
  return ["denied", `Access denied: ${name} may not see the shelves.`];
});

// --- signing in and out ---------------------------------------------------------------------------------

let currentUser = null;
let credentials = null; // sent again after a reconnect: a new connection starts without a token

function showUser(user) {
  currentUser = user || null;
  $("#login-form").hidden = Boolean(currentUser);
  $("#signed-in").hidden = !currentUser;
  $("#user-name").textContent = currentUser ? currentUser.username : "";
}

async function authenticate(method, params) {
  const result = await client.authenticate(AUTH_RID, method, params);
  showUser(result?.user);
}

client.setOnConnect(async () => {
  try {
    if (credentials) await authenticate("login", credentials);
    else if (body.sessionUser) await authenticate("session");
  } catch (err) {
    showUser(null);
    showError(err);
  }
});

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const params = { username: form.username.value, password: form.password.value };
  try {
    await authenticate("login", params);
    credentials = params;
    form.reset();
    shelves.load();
  } catch (err) {
    showError(err);
  }
});

$("#logout").addEventListener("click", async () => {
  credentials = null;
  body.sessionUser = "";
  try {
    await client.authenticate(AUTH_RID, "logout");
  } catch (err) {
    showError(err);
  }
  showUser(null);
  shelves.load();
});

// --- access changes -------------------------------------------------------------------------------------

// The gateway takes a resource away when access to it is revoked, but a page that was refused holds nothing
// that could tell it access came back: this public model changes whenever access may have changed for anyone.
client.get(`${AUTH_RID}.access`).then((revision) => revision.on("change", () => shelves.retry()), showError);

showUser(null);
books.load();
shelves.load();
