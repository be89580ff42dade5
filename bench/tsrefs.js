// findReferences of the TypeScript language service on a list of positions (bench/navigation_ts.py).
// Usage: node tsrefs.js TYPESCRIPT_MODULE ROOT QUERIES.json  ->  JSON on stdout:
// [{refs: [[path, line, column, isDefinition], ...], ms}] (1-based line and column).
"use strict";
const fs = require("fs");
const path = require("path");
const [tsModule, root, queriesFile] = process.argv.slice(2);
const ts = require(tsModule);
const queries = JSON.parse(fs.readFileSync(queriesFile, "utf8"));

const configPath = ts.findConfigFile(root, ts.sys.fileExists, "tsconfig.json");
const config = configPath
  ? ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, root)
  : { options: {}, fileNames: [] };
const files = new Set(config.fileNames);
for (const q of queries) files.add(path.join(root, q.path));
const versions = new Map();
const host = {
  getScriptFileNames: () => [...files],
  getScriptVersion: (f) => String(versions.get(f) || 0),
  getScriptSnapshot: (f) => (fs.existsSync(f) ? ts.ScriptSnapshot.fromString(fs.readFileSync(f, "utf8")) : undefined),
  getCurrentDirectory: () => root,
  getCompilationSettings: () => config.options,
  getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
  fileExists: ts.sys.fileExists,
  readFile: ts.sys.readFile,
  readDirectory: ts.sys.readDirectory,
  directoryExists: ts.sys.directoryExists,
  getDirectories: ts.sys.getDirectories,
};
const service = ts.createLanguageService(host, ts.createDocumentRegistry());
service.getProgram(); // the program is built once, before the first timed query

const out = [];
for (const q of queries) {
  const file = path.join(root, q.path);
  const source = service.getProgram().getSourceFile(file);
  const position = ts.getPositionOfLineAndCharacter(source, q.line - 1, q.column - 1);
  const start = process.hrtime.bigint();
  const found = service.findReferences(file, position) || [];
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const refs = [];
  for (const symbol of found) {
    for (const ref of symbol.references) {
      const target = service.getProgram().getSourceFile(ref.fileName);
      if (!target) continue;
      const at = ts.getLineAndCharacterOfPosition(target, ref.textSpan.start);
      refs.push([path.relative(root, ref.fileName), at.line + 1, at.character + 1, !!ref.isDefinition]);
    }
  }
  out.push({ refs, ms });
}
process.stdout.write(JSON.stringify(out));
