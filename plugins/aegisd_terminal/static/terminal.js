// The terminal page: xterm.js over the daemon's JSON-RPC WebSocket (terminal.* methods).
(() => {
  "use strict";
  // xterm.js adds <style> elements of its own: they carry this page's CSP nonce, so the
  // policy needs no 'unsafe-inline'.
  const nonce = document.currentScript.nonce;
  const createElement = Document.prototype.createElement;
  Document.prototype.createElement = function (name, options) {
    const element = createElement.call(this, name, options);
    if (String(name).toLowerCase() === "style") element.nonce = nonce;
    return element;
  };

  const query = new URLSearchParams(location.search);
  const token = query.get("token");
  const $ = (id) => document.getElementById(id);
  const term = new Terminal({ cursorBlink: true, scrollback: 5000 });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open($("term"));
  fit.fit();

  let ws = null;
  let nextId = 1;
  const waiting = new Map();
  let current = null; // the session shown
  let lastSeq = 0; // its last output frame written
  const early = new Map(); // output of a session opened here, before its id is known

  const setStatus = (text) => { $("status").textContent = text; document.body.dataset.status = text; };

  function call(method, params) {
    return new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params: params || {} }));
    });
  }

  function handle(message) {
    if (Array.isArray(message)) { message.forEach(handle); return; }
    if (message.id !== undefined && waiting.has(message.id)) {
      const waiter = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error) waiter.reject(new Error(message.error.message));
      else waiter.resolve(message.result);
      return;
    }
    const params = message.params || {};
    if (!String(message.method).startsWith("terminal.")) return;
    if (params.id !== current) {
      if (current === null) { // perhaps the session being opened
        if (!early.has(params.id)) early.set(params.id, []);
        early.get(params.id).push(message);
      }
      return;
    }
    show(message.method, params);
  }

  function show(method, params) {
    if (method === "terminal.output" && params.seq > lastSeq) {
      term.write(params.data);
      lastSeq = params.seq;
    } else if (method === "terminal.exit") {
      term.write(`\r\n[exited: ${params.signal || params.code}]\r\n`);
      setStatus("exited");
      refresh();
    } else if (method === "terminal.overflow") {
      attach(current, params.seq); // fell behind: catch up from the scrollback
    }
  }

  async function refresh() {
    const [{ sessions }, { workspaces }] = await Promise.all([
      call("terminal.list"), call("workspace.list"),
    ]);
    fill($("sessions"), sessions.map((s) => [s.id, `${s.argv.join(" ")} — ${s.id}${s.running ? "" : " (exited)"}`]));
    fill($("workspace"), workspaces.map((w) => [w.id, w.root]));
    if (current) $("sessions").value = current;
  }

  function fill(select, options) {
    const keep = select.value;
    select.replaceChildren(...options.map(([value, text]) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = text; // never markup: paths and commands are shown as text
      return option;
    }));
    if (options.some(([value]) => value === keep)) select.value = keep;
  }

  async function attach(id, since) {
    if (id !== current || since === null) { term.reset(); lastSeq = 0; }
    current = id;
    const answer = await call("terminal.attach", since === null ? { id } : { id, since_seq: since });
    setStatus(answer.running ? "attached" : "exited");
    call("terminal.resize", { id, cols: term.cols, rows: term.rows }).catch(() => {});
  }

  async function openNew() {
    current = null;
    early.clear();
    term.reset();
    lastSeq = 0;
    const params = { cols: term.cols, rows: term.rows };
    if ($("workspace").value) params.workspace = $("workspace").value;
    try {
      const opened = await call("terminal.open", params);
      current = opened.id;
      for (const message of early.get(current) || []) show(message.method, message.params);
      early.clear();
      term.focus(); // keys go to the new session from now on
      setStatus("attached");
      await refresh();
    } catch (error) {
      setStatus(`error: ${error.message}`);
    }
  }

  function connect() {
    const protocols = ["aegisd.rpc"];
    if (token) protocols.push(`aegisd.token.${token}`);
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(`${scheme}${location.host}/rpc/ws`, protocols);
    ws.onopen = async () => {
      setStatus("connected");
      await refresh();
      const wanted = current || query.get("session");
      if (wanted) attach(wanted, current ? lastSeq : null);
    };
    ws.onmessage = (event) => handle(JSON.parse(event.data));
    ws.onclose = () => {
      for (const waiter of waiting.values()) waiter.reject(new Error("connection closed"));
      waiting.clear();
      setStatus("disconnected: reconnecting");
      setTimeout(connect, 1000);
    };
  }

  term.onData((data) => { if (current) call("terminal.input", { id: current, data }).catch((e) => setStatus(`error: ${e.message}`)); });
  term.onResize(({ cols, rows }) => { if (current) call("terminal.resize", { id: current, cols, rows }).catch(() => {}); });
  window.addEventListener("resize", () => fit.fit());
  $("new").addEventListener("click", openNew);
  $("attach").addEventListener("click", () => { if ($("sessions").value) attach($("sessions").value, null); });
  connect();
})();
