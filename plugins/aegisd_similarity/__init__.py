"""Clone detection for aegisd: duplicated code of type 1 (identical tokens), 2 (renamed
identifiers and literals) and 3 (statements added, removed or reordered) in Python, JavaScript,
TypeScript, C and C++.

The pure core: `tokens.tokenize_file` and `fingerprint.analyze_file` (picklable, for workers);
`index.CloneIndex` keeps every file's winnowed fingerprints in an inverted index, takes files
one at a time, and answers `clones`, `hotspots`, `summary` and `check`, the clones of a snippet
an agent is about to write; `prepare` has a report's pairs matched by a `match.Matcher` (in the
process pool). `FileTokens.to_record` and `Fingerprints.to_record` give flat rows.

The daemon side: `hooks` (wiring only), `service` (one update task per workspace: warm start
from `store`, analysis of changed files in `pool`, then, after a large batch, matching there
too, tokens passed through `shared`), `rpc` (`similarity.report`, `.check`, `.status`),
`report` (reports on some files), `settings` (the `similarity` section).
"""
