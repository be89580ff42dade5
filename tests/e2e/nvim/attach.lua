-- Attach `aegisd lsp` to one file in headless Neovim (0.7+), wait for its diagnostics, ask for
-- the document symbols, write what Neovim saw as JSON and quit. Driven by tests/e2e/test_lsp_nvim.py.
local env = vim.env
local result = { diagnostics = {}, symbols = {}, error = vim.NIL }

local function finish()
  local out = io.open(env.AEGISD_TEST_OUT, "w")
  out:write(vim.fn.json_encode(result))
  out:close()
  vim.cmd("qa!")
end

vim.cmd("edit " .. vim.fn.fnameescape(env.AEGISD_TEST_FILE))
local client_id = vim.lsp.start_client({
  name = "aegisd",
  cmd = { env.AEGISD_TEST_PYTHON, "-m", "aegisd", "lsp", "--socket", env.AEGISD_TEST_SOCKET },
  root_dir = env.AEGISD_TEST_ROOT,
  workspace_folders = {
    { uri = vim.uri_from_fname(env.AEGISD_TEST_ROOT), name = "project" },
  },
})
vim.lsp.buf_attach_client(0, client_id)

local function code_of(d)
  if d.code ~= nil then
    return d.code
  end
  local lsp = d.user_data and d.user_data.lsp
  return lsp and lsp.code
end

local seen = vim.wait(90000, function()
  local codes = {}
  for _, d in ipairs(vim.diagnostic.get(0)) do
    codes[code_of(d) or ""] = true
  end
  return codes["F401"] and codes["assignment"]
end, 100)
if not seen then
  result.error = "no F401 and assignment diagnostics within 90 s"
end
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(result.diagnostics, {
    code = code_of(d),
    source = d.source,
    lnum = d.lnum,
    col = d.col,
    severity = d.severity,
  })
end

local params = { textDocument = vim.lsp.util.make_text_document_params() }
local answers = vim.lsp.buf_request_sync(0, "textDocument/documentSymbol", params, 30000) or {}
for _, answer in pairs(answers) do
  for _, symbol in ipairs(answer.result or {}) do
    table.insert(result.symbols, symbol.name)
  end
end

vim.lsp.stop_client(client_id)
vim.wait(10000, function()
  return vim.lsp.get_client_by_id(client_id) == nil
end, 50)
finish()
