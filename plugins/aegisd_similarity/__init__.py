"""Clone detection for aegisd: duplicated code of type 1 (identical tokens), 2 (renamed
identifiers and literals) and 3 (statements added, removed or reordered) in Python, JavaScript,
TypeScript, C and C++. Workers run the pure, picklable `fingerprint.analyze_file` (or
`tokens.tokenize_file` then `fingerprint.fingerprint`); `index.CloneIndex` keeps every file's
winnowed fingerprints in an inverted index, takes files one at a time, and answers `clones`,
`hotspots`, `summary` and `check`, the clones of a snippet an agent is about to write.
`FileTokens.to_record` and `Fingerprints.to_record` give flat rows for storage.
"""
