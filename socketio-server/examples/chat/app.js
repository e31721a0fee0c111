// The page's half of the chat demo (the server's half is main.rs).
//
// `?transport=polling` in the address keeps the client on HTTP long-polling; by default it
// starts with polling and upgrades to WebSocket.
"use strict";

const $ = (id) => document.getElementById(id);
const transports =
  new URLSearchParams(location.search).get("transport") === "polling"
    ? ["polling"]
    : ["polling", "websocket"];

let socket = null;
let currentRoom = null;

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  const nickname = $("nickname").value.trim();
  if (nickname) connect(nickname);
});

function connect(nickname) {
  // The nickname rides in the handshake: the server's middleware refuses a connection
  // without one (the page then gets `connect_error`).
  socket = io({ auth: { nickname }, transports });

  socket.on("connect", () => {
    $("login").hidden = true;
    $("chat").hidden = false;
    $("me").textContent = `you are ${nickname}`;
    setState("connected");
    // The transport now, and again when the client upgrades (polling → WebSocket).
    const engine = socket.io.engine;
    showTransport(engine.transport.name);
    engine.on("upgrade", (transport) => showTransport(transport.name));
    // After a reconnection, go back to the room we were in.
    if (currentRoom) join(currentRoom);
  });
  socket.on("disconnect", () => setState("disconnected"));
  socket.on("connect_error", (err) => {
    setState("not connected");
    // A refusal by the middleware: no automatic retry, back to the nickname form.
    if (!socket.active) {
      $("login-error").textContent = err.message;
      socket = null;
    }
  });

  // The open rooms with their user counts, pushed by the server whenever they change.
  socket.on("rooms", (rooms) => {
    const list = $("rooms");
    list.replaceChildren();
    if (rooms.length === 0) list.append(item("none yet", "empty"));
    for (const { name, users } of rooms) {
      const li = item("", name === currentRoom ? "current" : "");
      li.dataset.room = name;
      const button = document.createElement("button");
      button.textContent = `# ${name}`;
      button.addEventListener("click", () => join(name));
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = String(users);
      count.title = `${users} user${users === 1 ? "" : "s"}`;
      li.append(button, count);
      list.append(li);
    }
  });

  // Messages and notices of the room we are in (others never reach us).
  socket.on("message", (message) => {
    if (message.room === currentRoom) addMessage(message, "received");
  });
  socket.on("notice", (notice) => {
    if (notice.room === currentRoom) addNotice(notice.text);
  });
}

$("room-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("room-name").value.trim();
  if (name) join(name);
  $("room-name").value = "";
});

// `join` is acknowledged: the server answers {ok, data: room} or {ok: false, error}.
function join(room) {
  socket.emit("join", room, (reply) => {
    if (!reply.ok) return showError(reply.error);
    if (reply.data !== currentRoom) {
      currentRoom = reply.data;
      $("messages").replaceChildren();
      addNotice(`you joined # ${currentRoom}`);
    }
    $("room-title").textContent = `# ${currentRoom}`;
    $("message").disabled = $("send").disabled = false;
    $("message").focus();
    for (const li of $("rooms").children) {
      li.classList.toggle("current", li.dataset.room === currentRoom);
    }
  });
}

$("message-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("message").value.trim();
  if (!text) return;
  $("message").value = "";
  // Shown at once as pending; the server's acknowledgement marks it delivered (✓), or
  // failed if none comes within 5 s.
  const li = addMessage({ from: "me", text, time: Date.now() }, "sent pending");
  socket.timeout(5000).emit("message", text, (err, reply) => {
    li.classList.remove("pending");
    if (err || !reply.ok) {
      li.classList.add("failed");
      return showError(err ? "no acknowledgement from the server" : reply.error);
    }
    li.classList.add("delivered");
    li.querySelector(".time").textContent = time(reply.data.time);
  });
});

function addMessage({ from, text, time: at }, kind) {
  const li = item("", `message ${kind}`);
  const who = document.createElement("b");
  who.textContent = from;
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  const stamp = document.createElement("time");
  stamp.className = "time";
  stamp.textContent = time(at);
  li.append(who, body, stamp);
  return append(li);
}

function addNotice(text) {
  return append(item(text, "notice"));
}

function append(li) {
  const list = $("messages");
  list.append(li);
  list.scrollTop = list.scrollHeight;
  return li;
}

function item(text, className) {
  const li = document.createElement("li");
  li.textContent = text;
  if (className) li.className = className;
  return li;
}

function time(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function setState(state) {
  $("state").textContent = state;
  $("status").classList.toggle("offline", state !== "connected");
  if (state !== "connected") $("transport").textContent = "–";
}

function showTransport(name) {
  $("transport").textContent = name === "websocket" ? "WebSocket" : name === "polling" ? "polling" : name;
  $("status").dataset.transport = name;
}

function showError(message) {
  $("chat-error").textContent = message;
  setTimeout(() => ($("chat-error").textContent = ""), 4000);
}
